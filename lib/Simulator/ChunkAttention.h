//===- ChunkAttention.h - the simulator's per-pair kernels ------*- C++ -*-===//
//
// What one `ringattn.pair` computes on a rank, in fp64: the forward partial
// (O, LSE) of the pair's query rows merged into a step's partial, and the
// backward contributions to dQ, dK and dV. Rows are addressed in a rank's
// local tokens: a chunk's rows start at localIndexOfChunk(chunk) * chunk
// length, both in the rank's own Q and in whatever K/V shard a buffer holds.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_LIB_SIMULATOR_CHUNKATTENTION_H
#define RINGATTN_LIB_SIMULATOR_CHUNKATTENTION_H

#include "ringattn/Schedule/Layout.h"
#include "ringattn/Simulator/Tensor.h"

namespace mlir::ringattn::sim {

/// A rank-local forward result or accumulator: O [B, S_local, H, D] and LSE
/// [B, H, S_local]. A row that has seen no key has O = 0 and LSE = -inf.
struct PartialAttention {
  Tensor out, lse;

  /// Every row has seen no key yet.
  static PartialAttention empty(const AttentionConfig &config, int64_t batch);
  /// Every element NaN: the contents are undefined.
  static PartialAttention undefined(const AttentionConfig &config,
                                    int64_t batch);
};

/// The contents of one buffer slot: a K/V shard (k = K, v = V) or a dK/dV
/// shard (k = dK, v = dV); both [B, S_local, Hkv, D].
struct Shard {
  Tensor k, v;

  /// A shard with every element `value` (NaN: undefined contents).
  static Shard filled(const AttentionConfig &config, int64_t batch,
                      double value);
};

/// Merges `from` into `into` row by row: L = log(e^La + e^Lb),
/// O = e^(La-L) Oa + e^(Lb-L) Ob; a row with LSE -inf on one side takes the
/// other side as it is.
void mergeInto(PartialAttention &into, const PartialAttention &from);

/// The rank-local inputs of the backward kernels.
struct BackwardInputs {
  /// Q and dO, [B, S_local, H, D].
  const Tensor &q, &dout;
  /// The final LSE of the rank's rows, [B, H, S_local].
  const Tensor &lse;
  /// rowsum(dO * O) of the rank's rows, [B, H, S_local].
  const Tensor &rowDot;
};

/// rowsum(dO * O) per row, [B, H, S_local], of [B, S_local, H, D] tensors.
Tensor rowDotProducts(const Tensor &dout, const Tensor &out);

/// Forward of `pair`: attention of the local query rows of chunk `pair.q` in
/// `q` against the rows of chunk `pair.kv` in `kv`, merged into `partial`.
void forwardPair(const AttentionConfig &config, const Tensor &q,
                 const Shard &kv, const ChunkPair &pair,
                 PartialAttention &partial);

/// Backward of `pair`: adds its contributions to `dq` (the rank's dQ) and to
/// `dkv` (the dK/dV of the shard `kv`).
void backwardPair(const AttentionConfig &config, const BackwardInputs &inputs,
                  const Shard &kv, const ChunkPair &pair, Tensor &dq,
                  Shard &dkv);

} // namespace mlir::ringattn::sim

#endif // RINGATTN_LIB_SIMULATOR_CHUNKATTENTION_H
