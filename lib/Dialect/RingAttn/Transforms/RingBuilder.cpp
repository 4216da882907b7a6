//===- RingBuilder.cpp - building ring schedules ---------------------------===//

#include "RingBuilder.h"

using namespace mlir;
using namespace mlir::ringattn;

BufferAttr mlir::ringattn::kvBufferForStep(MLIRContext *context, int64_t step) {
  if (step == 0)
    return BufferAttr::get(context, BufferKind::kv_local, 0);
  return BufferAttr::get(context, BufferKind::kv_ring, (step - 1) % 2);
}

BufferAttr mlir::ringattn::dkvAccumulatorForStep(MLIRContext *context,
                                                 int64_t step) {
  return BufferAttr::get(context, BufferKind::dkv_ring, step % 2);
}

std::pair<Value, Value> mlir::ringattn::buildHop(OpBuilder &builder,
                                                 Location loc, int64_t rank,
                                                 int64_t cp, BufferAttr src,
                                                 BufferAttr dst, int64_t hop) {
  Value send =
      SendOp::create(builder, loc, src, nextRank(rank, cp), hop).getTransfer();
  Value recv = RecvOp::create(builder, loc, dst, previousRank(rank, cp), hop)
                   .getTransfer();
  return {send, recv};
}
