//===- TensorMap.h - TMA descriptors of token-major tensors ----*- C++ -*-===//

#ifndef RINGATTN_RUNTIME_TENSORMAP_H
#define RINGATTN_RUNTIME_TENSORMAP_H

#include "Driver.h"

#include <cstdint>

namespace ringattn::runtime {

/// Encodes the 4-D tensor map {head_dim, heads, tokens, batch} of a
/// [batch, tokens, heads, head_dim] tensor whose box is {64, 1, rows, 1}
/// with 128-byte swizzling: the layout the Hopper kernels load. `what` names
/// the tensor in error messages.
ringattn_status encodeTokenMajorMap(const Driver &driver, CUtensorMap &map,
                                    const void *base, ringattn_dtype dtype,
                                    int64_t batch, int64_t tokens,
                                    int64_t heads, int64_t headDim,
                                    int64_t rows, const char *what);

/// The same map over an fp32 accumulator of that shape (dQ), box {32, 1,
/// rows, 1}: the boxes the backward kernel reduces into it.
ringattn_status encodeAccumulatorMap(const Driver &driver, CUtensorMap &map,
                                     float *base, int64_t batch,
                                     int64_t tokens, int64_t heads,
                                     int64_t headDim, int64_t rows,
                                     const char *what);

/// Floats a row-vector box carries beyond its rows (see encodeRowVectorMap).
/// Must match kRowVectorSlack in lib/Target/Hopper/BackwardKernel.cpp.
constexpr int64_t kRowVectorSlack = 4;

/// Whether an fp32 [batch, heads, tokens] tensor fits a row-vector map: its
/// elements (and a box's slack past them) must be addressable by the TMA's
/// signed 32-bit coordinates.
constexpr bool rowVectorMapFits(int64_t batch, int64_t heads, int64_t tokens) {
  return batch > 0 && heads > 0 && tokens > 0 &&
         batch <= (INT32_MAX - kRowVectorSlack) / heads / tokens;
}

/// Encodes the 1-D tensor map of an fp32 [batch, heads, tokens] tensor
/// (LSE, Delta) as batch * heads * tokens consecutive floats, whose box is
/// rows + kRowVectorSlack floats. A TMA box must start on a 16-byte boundary
/// of its innermost dimension, and neither a query tile's first row nor a
/// head's pitch (tokens floats) need be one; the kernels start each box at
/// the tile's first element rounded down to 4 floats and skip the
/// remainder. The caller checks rowVectorMapFits first.
ringattn_status encodeRowVectorMap(const Driver &driver, CUtensorMap &map,
                                   const float *base, int64_t batch,
                                   int64_t heads, int64_t tokens, int64_t rows,
                                   const char *what);

} // namespace ringattn::runtime

#endif // RINGATTN_RUNTIME_TENSORMAP_H
