//===- ScheduleTest.cpp - the schedule pipeline on many configurations -----===//
//
// Runs the full pipeline on a grid of configurations and checks the
// schedules it builds: verified, balanced for zigzag, every pair once, hops
// posted before the compute they overlap.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleChecker.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "gtest/gtest.h"

#include <map>

using namespace mlir;
using namespace mlir::ringattn;

namespace {

OwningOpRef<ModuleOp> buildSchedules(MLIRContext &context,
                                     const AttentionConfig &config) {
  context.getOrLoadDialect<RingAttnDialect>();
  OpBuilder builder(&context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(builder.getUnknownLoc());
  builder.setInsertionPointToStart(module->getBody());
  AttentionOp::create(builder, builder.getUnknownLoc(), "attn",
                      ConfigAttr::get(&context, config));
  PassManager pm(&context);
  buildSchedulePipeline(pm);
  if (failed(pm.run(*module)))
    return nullptr;
  return module;
}

struct Case {
  int64_t cp;
  Layout layout;
  bool causal;
};

class SchedulePipeline : public ::testing::TestWithParam<Case> {};

TEST_P(SchedulePipeline, BuildsVerifiedSchedules) {
  Case c = GetParam();
  AttentionConfig config;
  config.cp = c.cp;
  config.seq = 2 * c.cp * 16;
  config.layout = c.layout;
  config.causal = c.causal;
  config.heads = 8;
  config.kvHeads = 2;
  config.headDim = 16;
  MLIRContext context;
  OwningOpRef<ModuleOp> module = buildSchedules(context, config);
  ASSERT_TRUE(module);
  int schedules = 0;
  for (ScheduleOp schedule : module->getBody()->getOps<ScheduleOp>()) {
    ++schedules;
    ScheduleModel model = buildScheduleModel(schedule);
    EXPECT_TRUE(succeeded(checkSchedule(model)));
    WorkReport report = reportWork(model);
    double total = 0;
    for (auto &row : report.work)
      for (double w : row)
        total += w;
    double expected = 0;
    for (const ChunkPair &pair : visiblePairs(config))
      expected += pairWork(pair.mask);
    EXPECT_DOUBLE_EQ(total, expected);
    if (c.layout == Layout::zigzag) {
      EXPECT_TRUE(report.balanced) << report.lines.back();
    } else if (c.causal && c.cp > 1) {
      EXPECT_FALSE(report.balanced);
    }
    // Transfers: cp-1 K/V hops; in backward, cp-1 dK/dV hops when each
    // accumulator ends at its owner's last step, cp when it starts there
    // (causal contiguous: rank 0 computes only its own shard).
    bool ownerFirst = c.layout == Layout::contiguous && c.causal;
    for (const RankProgram &program : model.ranks) {
      std::map<bool, int> sends;
      for (const Instr &instr : program.instrs)
        if (instr.kind == InstrKind::Send)
          ++sends[instr.buffer.holdsKV()];
      EXPECT_EQ(sends[true], c.cp - 1);
      int64_t dkvHops = ownerFirst ? c.cp : c.cp - 1;
      EXPECT_EQ(sends[false],
                model.direction == Direction::backward && c.cp > 1 ? dkvHops
                                                                   : 0);
    }
    // Overlap: the K/V hop of step s is posted before the compute of step s.
    for (const RankProgram &program : model.ranks) {
      std::map<int64_t, size_t> computeAt, hopAt;
      for (size_t i = 0; i < program.instrs.size(); ++i) {
        const Instr &instr = program.instrs[i];
        if (instr.kind == InstrKind::Compute)
          computeAt[instr.step] = i;
        if (instr.kind == InstrKind::Send && instr.buffer.holdsKV())
          hopAt[instr.hop] = i;
      }
      for (auto [hop, at] : hopAt) {
        if (computeAt.count(hop)) {
          EXPECT_LT(at, computeAt[hop])
              << "rank " << program.rank << " hop " << hop;
        }
      }
    }
  }
  EXPECT_EQ(schedules, 2);
}

std::vector<Case> allCases() {
  std::vector<Case> cases;
  for (int64_t cp : {1, 2, 3, 4, 8})
    for (Layout layout : {Layout::zigzag, Layout::contiguous})
      for (bool causal : {true, false})
        cases.push_back({cp, layout, causal});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(
    Grid, SchedulePipeline, ::testing::ValuesIn(allCases()),
    [](const ::testing::TestParamInfo<Case> &info) {
      return "cp" + std::to_string(info.param.cp) + "_" +
             stringifyLayout(info.param.layout).str() +
             (info.param.causal ? "_causal" : "_full");
    });

TEST(ScheduleShape, ZigzagFourRanksRankZero) {
  AttentionConfig config;
  config.cp = 4;
  config.seq = 64;
  MLIRContext context;
  OwningOpRef<ModuleOp> module = buildSchedules(context, config);
  ASSERT_TRUE(module);
  ScheduleOp forward = *module->getBody()->getOps<ScheduleOp>().begin();
  ScheduleModel model = buildScheduleModel(forward);
  std::map<int64_t, std::vector<std::tuple<int64_t, int64_t, MaskKind>>> steps;
  for (const Instr &instr : model.ranks[0].instrs)
    if (instr.kind == InstrKind::Compute)
      for (const ChunkPair &pair : instr.pairs)
        steps[instr.step].push_back({pair.q, pair.kv, pair.mask});
  using T = std::tuple<int64_t, int64_t, MaskKind>;
  EXPECT_EQ(steps[0], (std::vector<T>{{0, 0, MaskKind::diagonal},
                                      {7, 0, MaskKind::full},
                                      {7, 7, MaskKind::diagonal}}));
  EXPECT_EQ(steps[1],
            (std::vector<T>{{7, 3, MaskKind::full}, {7, 4, MaskKind::full}}));
}

} // namespace
