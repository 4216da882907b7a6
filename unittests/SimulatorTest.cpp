//===- SimulatorTest.cpp - the fp64 simulator on the schedule pipeline ----===//
//
// Runs the schedule pipeline and the CPU simulator over a sampled grid of
// configurations (cp, layout, mask, MHA and GQA, head_dim, batch) and checks
// out, LSE, dQ, dK and dV against dense fp64 attention. Also checks the dense
// reference itself against finite differences, and that the simulator's
// report names a schedule broken on purpose.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Simulator/Simulator.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"
#include "ringattn/Simulator/DenseReference.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cmath>

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

/// Everything a report says, for a failure message.
std::string describe(const SimulationReport &report) {
  std::string text = "@" + report.schedule + " (" + report.config.str() +
                     ", batch " + std::to_string(report.options.batch) +
                     ", seed " + std::to_string(report.options.seed) + ")";
  for (const std::string &issue : report.issues)
    text += "\n  issue: " + issue;
  for (const TensorComparison &tensor : report.tensors)
    text += "\n  " + tensor.name + " error " + std::to_string(tensor.error) +
            (tensor.worst.empty() ? "" : " at " + tensor.worst);
  return text;
}

struct GridCase {
  AttentionConfig config;
  int64_t batch;
};

class SimulatorGrid : public ::testing::TestWithParam<GridCase> {};

TEST_P(SimulatorGrid, MatchesDenseAttention) {
  const GridCase &c = GetParam();
  MLIRContext context;
  OwningOpRef<ModuleOp> module = buildSchedules(context, c.config);
  ASSERT_TRUE(module);
  SimulationOptions options;
  options.batch = c.batch;
  options.seed = 20261125 + c.config.cp;
  int schedules = 0;
  for (ScheduleOp schedule : module->getBody()->getOps<ScheduleOp>()) {
    ++schedules;
    SimulationReport report = simulate(schedule, options);
    EXPECT_TRUE(report.issues.empty()) << describe(report);
    ASSERT_EQ(report.tensors.size(),
              report.direction == Direction::forward ? 2u : 3u);
    for (const TensorComparison &tensor : report.tensors)
      EXPECT_LE(tensor.error, 1e-10) << tensor.name << ": " << describe(report);
    EXPECT_TRUE(report.passed) << describe(report);
  }
  EXPECT_EQ(schedules, 2);
}

/// A sample of cp x layout x mask x heads x head_dim x batch: every cp with
/// both masks for each layout; heads, head_dim and batch cycle so that each
/// of their values meets each layout (and most meet each cp).
std::vector<GridCase> sampledGrid() {
  struct RingSize {
    int64_t cp, seq;
  };
  // seq is divisible by 2*cp (zigzag) with chunks of 125, 65, 48, 40, 24.
  const RingSize rings[] = {{1, 250}, {2, 260}, {3, 288}, {4, 320}, {8, 384}};
  const std::pair<int64_t, int64_t> heads[] = {{8, 8}, {8, 2}, {8, 1}};
  std::vector<GridCase> cases;
  int i = 0;
  for (Layout layout : {Layout::zigzag, Layout::contiguous})
    for (RingSize ring : rings)
      for (bool causal : {true, false}) {
        GridCase c;
        c.config.cp = ring.cp;
        c.config.seq = ring.seq;
        c.config.layout = layout;
        c.config.causal = causal;
        std::tie(c.config.heads, c.config.kvHeads) = heads[i % 3];
        c.config.headDim = (i + i / 2) % 2 ? 32 : 16;
        c.batch = 1 + (i / 4) % 2;
        cases.push_back(c);
        ++i;
      }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Sampled, SimulatorGrid,
                         ::testing::ValuesIn(sampledGrid()),
                         [](const ::testing::TestParamInfo<GridCase> &info) {
                           const AttentionConfig &config = info.param.config;
                           return "cp" + std::to_string(config.cp) + "_" +
                                  stringifyLayout(config.layout).str() +
                                  (config.causal ? "_causal" : "_full") + "_h" +
                                  std::to_string(config.heads) + "kv" +
                                  std::to_string(config.kvHeads) + "_d" +
                                  std::to_string(config.headDim) + "_b" +
                                  std::to_string(info.param.batch);
                         });

/// sum(dO * O) for the forward of `inputs`: the loss whose gradients the
/// dense backward computes.
double loss(const AttentionConfig &config, const AttentionInputs &inputs) {
  AttentionOutputs outputs = denseForward(config, inputs);
  double sum = 0;
  for (int64_t i = 0, e = outputs.out.size(); i < e; ++i)
    sum += inputs.dout.begin()[i] * outputs.out.begin()[i];
  return sum;
}

/// The dense gradients agree with central finite differences of the loss.
void expectGradientsMatchFiniteDifferences(const AttentionConfig &config) {
  AttentionInputs inputs = randomInputs(config, /*batch=*/2, /*seed=*/3);
  AttentionGradients grads =
      denseBackward(config, inputs, denseForward(config, inputs));
  const double step = 1e-5;
  auto check = [&](Tensor AttentionInputs::*input, const Tensor &grad,
                   const char *name) {
    for (int64_t i = 0, e = grad.size(); i < e; ++i) {
      AttentionInputs shifted = inputs;
      double &x = (shifted.*input).begin()[i];
      x += step;
      double up = loss(config, shifted);
      x -= 2 * step;
      double down = loss(config, shifted);
      EXPECT_NEAR(grad.begin()[i], (up - down) / (2 * step), 1e-7)
          << name << " element " << i << " of " << config.str();
    }
  };
  check(&AttentionInputs::q, grads.dq, "dq");
  check(&AttentionInputs::k, grads.dk, "dk");
  check(&AttentionInputs::v, grads.dv, "dv");
}

TEST(DenseReference, GradientsMatchFiniteDifferences) {
  AttentionConfig config;
  config.seq = 6;
  config.heads = 4;
  config.kvHeads = 2;
  config.headDim = 3;
  config.causal = true;
  expectGradientsMatchFiniteDifferences(config);
  config.causal = false;
  config.kvHeads = 1;
  expectGradientsMatchFiniteDifferences(config);
}

TEST(DenseReference, FirstCausalRowSeesOnlyItself) {
  AttentionConfig config;
  config.seq = 8;
  config.heads = 2;
  config.kvHeads = 1;
  config.headDim = 4;
  AttentionInputs inputs = randomInputs(config, 1, 5);
  AttentionOutputs outputs = denseForward(config, inputs);
  for (int64_t h = 0; h < config.heads; ++h) {
    double score = 0;
    for (int64_t i = 0; i < config.headDim; ++i) {
      score += inputs.q.at({0, 0, h})[i] * inputs.k.at({0, 0, 0})[i];
      EXPECT_DOUBLE_EQ(outputs.out.at({0, 0, h})[i], inputs.v.at({0, 0, 0})[i]);
    }
    EXPECT_NEAR(*outputs.lse.at({0, h, 0}), score * softmaxScale(config),
                1e-15);
  }
}

/// A small zigzag ring whose schedules the next tests break.
AttentionConfig smallRing() {
  AttentionConfig config;
  config.cp = 3;
  config.seq = 48;
  config.heads = 4;
  config.kvHeads = 2;
  config.headDim = 8;
  return config;
}

ScheduleOp scheduleOf(ModuleOp module, Direction direction) {
  for (ScheduleOp schedule : module.getBody()->getOps<ScheduleOp>())
    if (schedule.getDirection() == direction)
      return schedule;
  return nullptr;
}

TEST(SimulatorReport, NamesTheTensorsOfADroppedPair) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module = buildSchedules(context, smallRing());
  ASSERT_TRUE(module);
  ScheduleOp backward = scheduleOf(*module, Direction::backward);
  // Rank 0's last pair: (q 5, kv 4) at step 2.
  PairOp dropped;
  backward.walk([&](PairOp pair) {
    if (pair.getQ() == 5 && pair.getKv() == 4)
      dropped = pair;
  });
  ASSERT_TRUE(dropped);
  dropped.erase();
  SimulationReport report = simulate(backward, SimulationOptions());
  EXPECT_FALSE(report.passed);
  EXPECT_TRUE(report.issues.empty()) << describe(report);
  ASSERT_EQ(report.tensors.size(), 3u);
  for (const TensorComparison &tensor : report.tensors) {
    EXPECT_FALSE(tensor.passed) << tensor.name;
    EXPECT_GT(tensor.error, 1e-3) << tensor.name;
  }
  // dQ of chunk 5 lives on rank 0, dK/dV of chunk 4 on rank 1.
  EXPECT_NE(report.tensors[0].worst.find("(chunk 5, rank 0)"),
            std::string::npos)
      << report.tensors[0].worst;
  EXPECT_NE(report.tensors[1].worst.find("(chunk 4, rank 1)"),
            std::string::npos)
      << report.tensors[1].worst;
}

TEST(SimulatorReport, ReportsAnUnwaitedReceiveAndItsNaN) {
  MLIRContext context;
  OwningOpRef<ModuleOp> module = buildSchedules(context, smallRing());
  ASSERT_TRUE(module);
  ScheduleOp forward = scheduleOf(*module, Direction::forward);
  // Rank 1's wait for the K/V of step 2: the last wait before the last
  // compute.
  RankOp rank1 = *std::next(forward.getRanks().begin());
  WaitOp lastWaitBeforeCompute;
  for (Operation &op : rank1.getBody().front())
    if (auto wait = dyn_cast<WaitOp>(op);
        wait && isa<ComputeOp>(wait->getNextNode()))
      lastWaitBeforeCompute = wait;
  ASSERT_TRUE(lastWaitBeforeCompute);
  lastWaitBeforeCompute.erase();
  SimulationReport report = simulate(forward, SimulationOptions());
  EXPECT_FALSE(report.passed);
  ASSERT_EQ(report.issues.size(), 1u) << describe(report);
  EXPECT_EQ(report.issues[0],
            "rank 1: 'recv kv_ring[1] from 0 (hop 1)' is never waited");
  for (const TensorComparison &tensor : report.tensors) {
    EXPECT_TRUE(std::isnan(tensor.error)) << tensor.name;
    EXPECT_EQ(tensor.worst, "batch 0, token 32 (chunk 4, rank 1), head 0");
  }
}

TEST(SimulatorReport, SameSeedSameRun) {
  AttentionConfig config = smallRing();
  AttentionInputs first = randomInputs(config, 1, 42);
  AttentionInputs again = randomInputs(config, 1, 42);
  AttentionInputs other = randomInputs(config, 1, 43);
  EXPECT_TRUE(std::equal(first.q.begin(), first.q.end(), again.q.begin()));
  EXPECT_FALSE(std::equal(first.q.begin(), first.q.end(), other.q.begin()));

  MLIRContext context;
  OwningOpRef<ModuleOp> module = buildSchedules(context, config);
  ASSERT_TRUE(module);
  ScheduleOp backward = scheduleOf(*module, Direction::backward);
  SimulationOptions options;
  options.seed = 42;
  SimulationReport run = simulate(backward, options);
  SimulationReport rerun = simulate(backward, options);
  ASSERT_EQ(run.tensors.size(), 3u);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(run.tensors[i].error, rerun.tensors[i].error);
}

} // namespace
