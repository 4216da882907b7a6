//===- DeriveBackward.cpp - forward schedule -> backward schedule ----------===//
//
// The backward schedule recomputes the forward's chunk pairs step by step. K/V
// shards travel the same hops again; dQ stays local; the fp32 dK/dV
// accumulator of each shard travels one hop behind the shard and comes home
// after cp hops. Per rank r and step s (A(s) = dkv_ring[s % 2]):
//
//   compute step s kv(B_s) dkv(s == 0 ? A(0) : dkv_partial[0])
//   K/V hop s (s < cp-1): send B_s, recv B_{s+1}; wait
//   s > 0: wait for A(s) to arrive; accumulate dkv_partial[0] into A(s)
//   dK/dV hop s (cp > 1): wait for hop s-1's send; send A(s), recv A(s+1)
//   ...
//   finalize dkv(A(cp))
//
// The K/V hop comes before the dK/dV one so that the overlap pass can post it
// ahead of the step's compute without reordering posts.
//
//===----------------------------------------------------------------------===//

#include "RingBuilder.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_DERIVEBACKWARD
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// The backward schedule's name for a forward schedule's: `x_fwd` -> `x_bwd`,
/// anything else gets `_bwd` appended.
std::string backwardName(StringRef forward) {
  forward.consume_back("_fwd");
  return (forward + "_bwd").str();
}

LogicalResult buildBackwardRank(OpBuilder &builder, RankOp forward,
                                const AttentionConfig &config) {
  MLIRContext *context = builder.getContext();
  Location loc = forward.getLoc();
  int64_t rank = forward.getRank();
  int64_t cp = config.cp;
  DenseMap<int64_t, ComputeOp> computes;
  for (ComputeOp compute : forward.getBody().front().getOps<ComputeOp>())
    computes.try_emplace(compute.getStep(), compute);
  if (!computes.count(0))
    return forward.emitOpError()
           << "computes nothing at step 0, so its dK/dV accumulator has no "
              "start";

  auto rankOp = RankOp::create(builder, loc, rank);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&rankOp.getBody().front());
  auto partial = BufferAttr::get(context, BufferKind::dkv_partial, 0);
  Value dkvSend, dkvRecv;
  for (int64_t step = 0; step < cp; ++step) {
    BufferAttr kv = kvBufferForStep(context, step);
    BufferAttr acc = dkvAccumulatorForStep(context, step);
    ComputeOp forwardCompute = computes.lookup(step);
    if (forwardCompute) {
      auto compute = ComputeOp::create(builder, forwardCompute.getLoc(), step,
                                               kv, step == 0 ? acc : partial);
      OpBuilder::InsertionGuard inner(builder);
      builder.setInsertionPointToStart(&compute.getBody().front());
      for (PairOp pair : forwardCompute.getPairs())
        builder.clone(*pair);
    }
    if (step + 1 < cp) {
      auto [send, recv] = buildHop(builder, loc, rank, cp, kv,
                                   kvBufferForStep(context, step + 1), step);
      WaitOp::create(builder, loc, ValueRange{send, recv});
    }
    if (step > 0) {
      WaitOp::create(builder, loc, dkvRecv);
      if (forwardCompute)
        AccumulateOp::create(builder, loc, partial, acc);
    }
    if (cp > 1) {
      if (step > 0)
        WaitOp::create(builder, loc, dkvSend);
      std::tie(dkvSend, dkvRecv) =
          buildHop(builder, loc, rank, cp, acc,
                   dkvAccumulatorForStep(context, step + 1), step);
    }
  }
  if (cp > 1)
    WaitOp::create(builder, loc, ValueRange{dkvRecv, dkvSend});
  FinalizeOp::create(builder, 
      loc, dkvAccumulatorForStep(context, cp > 1 ? cp : 0));
  return success();
}

struct DeriveBackwardPass
    : public ringattn::impl::DeriveBackwardBase<DeriveBackwardPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    SmallVector<ScheduleOp> forwards;
    for (ScheduleOp schedule : module.getBody()->getOps<ScheduleOp>())
      if (schedule.getDirection() == Direction::forward)
        forwards.push_back(schedule);
    for (ScheduleOp forward : forwards) {
      std::string name = backwardName(forward.getSymName());
      if (symbols.lookup(name))
        continue;
      OpBuilder builder(forward->getContext());
      builder.setInsertionPointAfter(forward);
      auto backward = ScheduleOp::create(builder, 
          forward.getLoc(), name, Direction::backward, forward.getConfig());
      builder.setInsertionPointToStart(&backward.getBody().front());
      for (RankOp rank : forward.getRanks())
        if (failed(buildBackwardRank(builder, rank,
                                     forward.getAttentionConfig())))
          return signalPassFailure();
      symbols.insert(backward);
    }
  }
};

} // namespace
