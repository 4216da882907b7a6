//===- ExpandSchedule.cpp - configuration -> forward schedule --------------===//
//
// Expands ringattn.attention into the per-rank, per-step forward schedule of
// its layout, without overlap: compute, combine, then the K/V hop to the next
// step and its wait.
//
//===----------------------------------------------------------------------===//

#include "RingBuilder.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"
#include "ringattn/Schedule/Layout.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_EXPANDSCHEDULE
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// Builds rank `rank`'s forward program: at step s, every local q chunk
/// against every chunk of the shard of rank (rank - s) mod cp.
void buildForwardRank(OpBuilder &builder, Location loc,
                      const AttentionConfig &config, int64_t rank) {
  MLIRContext *context = builder.getContext();
  auto rankOp = RankOp::create(builder, loc, rank);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&rankOp.getBody().front());
  for (int64_t step = 0; step < config.cp; ++step) {
    BufferAttr kv = kvBufferForStep(context, step);
    auto compute = ComputeOp::create(builder, loc, step, kv, BufferAttr());
    {
      OpBuilder::InsertionGuard inner(builder);
      builder.setInsertionPointToStart(&compute.getBody().front());
      int64_t source = kvSourceRank(config, rank, step);
      for (int64_t q : chunksOfRank(config, rank))
        for (int64_t k : chunksOfRank(config, source))
          PairOp::create(builder, loc, q, k, classifyPair(config, q, k));
    }
    CombineOp::create(builder, loc, step);
    if (step + 1 == config.cp)
      continue;
    auto [send, recv] = buildHop(builder, loc, rank, config.cp, kv,
                                 kvBufferForStep(context, step + 1), step);
    WaitOp::create(builder, loc, ValueRange{send, recv});
  }
  FinalizeOp::create(builder, loc, BufferAttr());
}

struct ExpandSchedulePass
    : public ringattn::impl::ExpandScheduleBase<ExpandSchedulePass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> attentions(
        getOperation().getBody()->getOps<AttentionOp>());
    for (AttentionOp attention : attentions) {
      AttentionConfig config = attention.getConfig().getConfig();
      if (config.cp > kMaxRanks) {
        attention.emitOpError()
            << "has a ring of " << config.cp
            << " ranks; the schedule passes expand rings of at most "
            << kMaxRanks << " (a schedule holds cp^2 computes)";
        return signalPassFailure();
      }
      OpBuilder builder(attention);
      auto schedule = ScheduleOp::create(builder, 
          attention.getLoc(), (attention.getSymName() + "_fwd").str(),
          Direction::forward, attention.getConfig());
      builder.setInsertionPointToStart(&schedule.getBody().front());
      for (int64_t rank = 0; rank < config.cp; ++rank)
        buildForwardRank(builder, attention.getLoc(), config, rank);
      attention.erase();
      ++numSchedules;
    }
  }
};

} // namespace
