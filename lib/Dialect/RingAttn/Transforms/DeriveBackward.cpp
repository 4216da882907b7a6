//===- DeriveBackward.cpp - forward schedule -> backward schedule ----------===//
//
// The backward schedule recomputes the forward's chunk pairs; dQ stays local
// and an fp32 dK/dV accumulator per K/V shard travels around the ring,
// collecting each rank's partial, until it reaches the shard's owner, where
// finalize writes dK/dV. Two orders:
//
// Owner last (whenever every rank computes at the forward's step 1, e.g. the
// zigzag layout): backward step s recomputes the forward's step (s+1) % cp, so
// rank r sees the shards r-1, r-2, ..., r-cp+1 and its own last. An
// accumulator starts one rank past its owner and arrives there during the
// owner's last step; no dK/dV hop is left after the last compute. With
// A(s) = dkv_ring[s % 2] and B_s the shard's buffer (kv_ring[s % 2], the own
// shard kv_local[0]):
//
//   K/V hop 0: send kv_local[0], recv B_0; wait
//   compute step s kv(B_s) dkv(s == 0 ? A(0) : dkv_partial[0])
//   K/V hop s+1 (s+1 < cp-1): send B_s, recv B_{s+1}; wait
//   s > 0: wait for A(s); accumulate dkv_partial[0] into A(s)
//   dK/dV hop s (s < cp-1): wait for hop s-1's send; send A(s), recv A(s+1)
//   ...
//   finalize dkv(A(cp-1))
//
// Owner first (otherwise, e.g. causal contiguous, where rank 0 computes only
// its own shard): step s recomputes the forward's step s; the accumulator
// starts at its owner and comes home after cp hops (A(s) as above,
// B_0 = kv_local[0], B_s = kv_ring[(s-1) % 2]):
//
//   compute step s kv(B_s) dkv(s == 0 ? A(0) : dkv_partial[0])
//   K/V hop s (s < cp-1): send B_s, recv B_{s+1}; wait
//   s > 0: wait for A(s) to arrive; accumulate dkv_partial[0] into A(s)
//   dK/dV hop s (cp > 1): wait for hop s-1's send; send A(s), recv A(s+1)
//   ...
//   finalize dkv(A(cp))
//
// Within a step the K/V hop comes before the dK/dV one so that the overlap
// pass can post it ahead of the step's compute without reordering posts.
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

/// The forward's computes of one rank, by step.
DenseMap<int64_t, ComputeOp> computesByStep(RankOp forward) {
  DenseMap<int64_t, ComputeOp> computes;
  for (ComputeOp compute : forward.getBody().front().getOps<ComputeOp>())
    computes.try_emplace(compute.getStep(), compute);
  return computes;
}

/// Emits `compute step` on `kv` into `dkv` with the pairs of `forward`.
void buildCompute(OpBuilder &builder, ComputeOp forward, int64_t step,
                  BufferAttr kv, BufferAttr dkv) {
  auto compute = ComputeOp::create(builder, forward.getLoc(), step, kv, dkv);
  OpBuilder::InsertionGuard inner(builder);
  builder.setInsertionPointToStart(&compute.getBody().front());
  for (PairOp pair : forward.getPairs())
    builder.clone(*pair);
}

/// One rank's backward program in the owner-last or owner-first order (see
/// the file comment).
LogicalResult buildBackwardRank(OpBuilder &builder, RankOp forward,
                                const AttentionConfig &config,
                                bool ownerLast) {
  MLIRContext *context = builder.getContext();
  Location loc = forward.getLoc();
  int64_t rank = forward.getRank();
  int64_t cp = config.cp;
  DenseMap<int64_t, ComputeOp> computes = computesByStep(forward);
  // The forward step a backward step recomputes, and the shard buffer it
  // reads.
  auto forwardStep = [&](int64_t step) {
    return ownerLast ? (step + 1) % cp : step;
  };
  auto kvBuffer = [&](int64_t step) {
    if (!ownerLast)
      return kvBufferForStep(context, step);
    if (step == cp - 1)
      return BufferAttr::get(context, BufferKind::kv_local, 0);
    return BufferAttr::get(context, BufferKind::kv_ring, step % 2);
  };
  if (!computes.count(forwardStep(0)))
    return forward.emitOpError()
           << "computes nothing at step " << forwardStep(0)
           << ", so its dK/dV accumulator has no start";
  // The number of dK/dV hops: each accumulator visits every rank once.
  int64_t dkvHops = ownerLast ? cp - 1 : (cp > 1 ? cp : 0);

  auto rankOp = RankOp::create(builder, loc, rank);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&rankOp.getBody().front());
  auto partial = BufferAttr::get(context, BufferKind::dkv_partial, 0);
  if (ownerLast && cp > 1) {
    auto [send, recv] =
        buildHop(builder, loc, rank, cp,
                 BufferAttr::get(context, BufferKind::kv_local, 0),
                 kvBuffer(0), 0);
    WaitOp::create(builder, loc, ValueRange{send, recv});
  }
  Value dkvSend, dkvRecv;
  for (int64_t step = 0; step < cp; ++step) {
    BufferAttr acc = dkvAccumulatorForStep(context, step);
    ComputeOp forwardCompute = computes.lookup(forwardStep(step));
    if (forwardCompute)
      buildCompute(builder, forwardCompute, step, kvBuffer(step),
                   step == 0 ? acc : partial);
    // The next shard, unless it is the own one (owner last) or none is left.
    int64_t kvHop = ownerLast ? step + 1 : step;
    if (step + 1 < cp && !(ownerLast && step + 1 == cp - 1)) {
      auto [send, recv] = buildHop(builder, loc, rank, cp, kvBuffer(step),
                                   kvBuffer(step + 1), kvHop);
      WaitOp::create(builder, loc, ValueRange{send, recv});
    }
    if (step > 0) {
      WaitOp::create(builder, loc, dkvRecv);
      if (forwardCompute)
        AccumulateOp::create(builder, loc, partial, acc);
    }
    if (step < dkvHops) {
      if (step > 0)
        WaitOp::create(builder, loc, dkvSend);
      std::tie(dkvSend, dkvRecv) =
          buildHop(builder, loc, rank, cp, acc,
                   dkvAccumulatorForStep(context, step + 1), step);
    }
  }
  if (dkvHops > 0) {
    if (ownerLast)
      WaitOp::create(builder, loc, dkvSend);
    else
      WaitOp::create(builder, loc, ValueRange{dkvRecv, dkvSend});
  }
  FinalizeOp::create(builder, loc, dkvAccumulatorForStep(context, dkvHops));
  return success();
}

/// Owner last needs a compute at the forward's step 1 on every rank (the
/// accumulators' first write); cp = 1 has only step 0, the own shard.
bool canFinishWithOwner(ScheduleOp forward, int64_t cp) {
  if (cp == 1)
    return true;
  for (RankOp rank : forward.getRanks())
    if (!computesByStep(rank).count(1))
      return false;
  return true;
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
      AttentionConfig config = forward.getAttentionConfig();
      bool ownerLast = canFinishWithOwner(forward, config.cp);
      for (RankOp rank : forward.getRanks())
        if (failed(buildBackwardRank(builder, rank, config, ownerLast)))
          return signalPassFailure();
      symbols.insert(backward);
    }
  }
};

} // namespace
