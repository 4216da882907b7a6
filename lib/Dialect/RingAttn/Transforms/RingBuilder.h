//===- RingBuilder.h - building ring schedules ------------------*- C++ -*-===//
//
// Helpers shared by the passes that build schedules (expand, derive
// backward): the slot conventions of expanded schedules and ring hops.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_LIB_DIALECT_RINGATTN_TRANSFORMS_RINGBUILDER_H
#define RINGATTN_LIB_DIALECT_RINGATTN_TRANSFORMS_RINGBUILDER_H

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"

#include "mlir/IR/Builders.h"

namespace mlir::ringattn {

/// The K/V buffer that holds step `step`'s shard: kv_local[0] at step 0, then
/// the two ring slots in turn (double buffering: hop s fills the slot that
/// step s-1 read).
BufferAttr kvBufferForStep(MLIRContext *context, int64_t step);

/// The dK/dV accumulator slot of step `step`: dkv_ring[step % 2].
BufferAttr dkvAccumulatorForStep(MLIRContext *context, int64_t step);

/// The next and previous rank on the ring.
inline int64_t nextRank(int64_t rank, int64_t cp) { return (rank + 1) % cp; }
inline int64_t previousRank(int64_t rank, int64_t cp) {
  return (rank + cp - 1) % cp;
}

/// The two posts of one ring hop of `rank`: send `src` to the next rank and
/// receive into `dst` from the previous one. Returns {send, recv}.
std::pair<Value, Value> buildHop(OpBuilder &builder, Location loc, int64_t rank,
                                 int64_t cp, BufferAttr src, BufferAttr dst,
                                 int64_t hop);

} // namespace mlir::ringattn

#endif // RINGATTN_LIB_DIALECT_RINGATTN_TRANSFORMS_RINGBUILDER_H
