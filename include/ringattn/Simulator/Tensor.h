//===- Tensor.h - dense fp64 tensors of the CPU simulator -------*- C++ -*-===//
//
// The one tensor type of the simulator and its dense reference: a row-major
// fp64 array with its shape. Attention tensors follow the project's
// conventions: Q, O, dO, dQ are [B, S, H, D]; K, V, dK, dV are [B, S, Hkv, D];
// LSE is [B, H, S].
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_SIMULATOR_TENSOR_H
#define RINGATTN_SIMULATOR_TENSOR_H

#include <cassert>
#include <cstdint>
#include <initializer_list>
#include <utility>
#include <vector>

namespace mlir::ringattn {

/// A dense, row-major fp64 tensor.
class Tensor {
public:
  Tensor() = default;
  /// A tensor of `shape` with every element `value`.
  Tensor(std::vector<int64_t> shape, double value) : shape(std::move(shape)) {
    int64_t count = 1;
    for (int64_t extent : this->shape)
      count *= extent;
    data.assign(count, value);
  }

  const std::vector<int64_t> &getShape() const { return shape; }
  int64_t dim(unsigned i) const { return shape[i]; }
  int64_t size() const { return data.size(); }
  bool empty() const { return data.empty(); }

  double *begin() { return data.data(); }
  double *end() { return data.data() + data.size(); }
  const double *begin() const { return data.data(); }
  const double *end() const { return data.data() + data.size(); }

  /// A pointer to the element at `index`; with fewer entries than dimensions,
  /// to the first element of that slice (e.g. a head's D-vector).
  double *at(std::initializer_list<int64_t> index) {
    return data.data() + sliceOffset(index);
  }
  const double *at(std::initializer_list<int64_t> index) const {
    return data.data() + sliceOffset(index);
  }

  /// Sets every element to `value`.
  void fill(double value) { data.assign(data.size(), value); }

private:
  int64_t sliceOffset(std::initializer_list<int64_t> index) const {
    assert(index.size() <= shape.size() && "index rank mismatch");
    int64_t flat = 0;
    unsigned i = 0;
    for (int64_t coordinate : index) {
      assert(coordinate >= 0 && coordinate < shape[i] && "index out of range");
      flat = flat * shape[i++] + coordinate;
    }
    for (; i < shape.size(); ++i)
      flat *= shape[i];
    return flat;
  }

  std::vector<int64_t> shape;
  std::vector<double> data;
};

} // namespace mlir::ringattn

#endif // RINGATTN_SIMULATOR_TENSOR_H
