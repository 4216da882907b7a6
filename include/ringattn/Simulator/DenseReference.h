//===- DenseReference.h - attention computed directly in fp64 ---*- C++ -*-===//
//
// The reference the simulator compares ring schedules against: attention over
// the whole global sequence, in fp64, computed row by row straight from the
// definition (no chunks, no ring, no merging), with its gradients. Also the
// random inputs of a simulation, drawn on global positions so that a seed
// means the same tensors for every cp and layout.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_SIMULATOR_DENSEREFERENCE_H
#define RINGATTN_SIMULATOR_DENSEREFERENCE_H

#include "ringattn/Schedule/Config.h"
#include "ringattn/Simulator/Tensor.h"

#include <cstdint>

namespace mlir::ringattn {

/// The inputs of one attention over the global sequence: Q and dO are
/// [B, seq, H, D], K and V [B, seq, Hkv, D].
struct AttentionInputs {
  Tensor q, k, v, dout;
};

/// The forward results: O [B, seq, H, D] and LSE [B, H, seq] (natural log).
struct AttentionOutputs {
  Tensor out, lse;
};

/// The gradients of sum(dO * O): dQ [B, seq, H, D], dK and dV
/// [B, seq, Hkv, D].
struct AttentionGradients {
  Tensor dq, dk, dv;
};

/// The softmax scale of `config`: 1/sqrt(head_dim).
double softmaxScale(const AttentionConfig &config);

/// Standard-normal Q, K, V and dO for `batch` sequences of `config`, drawn
/// from `seed`.
AttentionInputs randomInputs(const AttentionConfig &config, int64_t batch,
                             uint64_t seed);

/// O and LSE of attention over the global sequence; key t' is visible to
/// query t if t' <= t under a causal mask, always otherwise.
AttentionOutputs denseForward(const AttentionConfig &config,
                              const AttentionInputs &inputs);

/// dQ, dK and dV given the inputs and the forward results.
AttentionGradients denseBackward(const AttentionConfig &config,
                                 const AttentionInputs &inputs,
                                 const AttentionOutputs &outputs);

/// Multiply-adds of one dense forward plus backward: what simulating a
/// configuration costs, for callers that refuse sizes out of reach.
double denseMultiplyAdds(const AttentionConfig &config, int64_t batch);

} // namespace mlir::ringattn

#endif // RINGATTN_SIMULATOR_DENSEREFERENCE_H
