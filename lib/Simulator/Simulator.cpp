//===- Simulator.cpp - the fp64 CPU simulator of ring schedules -----------===//
//
// NumericSemantics gives the ring execution model numbers: every buffer slot
// of every rank holds an fp64 shard, messages carry copies of shards, and
// compute, combine, accumulate and finalize run the chunk kernels of
// ChunkAttention.h. simulate() shards random global inputs by the layout,
// executes the schedule, gathers the finalized results back to global
// positions and compares them with the dense reference.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Simulator/Simulator.h"
#include "ChunkAttention.h"

#include "ringattn/Dialect/RingAttn/Analysis/RingExecutor.h"
#include "ringattn/Simulator/DenseReference.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>

using namespace mlir;
using namespace mlir::ringattn;
using namespace mlir::ringattn::sim;

static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

namespace {

/// Rank `rank`'s part of a global tensor: its rows of a [B, seq, heads, D]
/// tensor or its columns of a [B, heads, seq] one (LSE), in local order.
Tensor localPart(const AttentionConfig &config, const Tensor &global,
                 int64_t rank) {
  std::vector<int64_t> positions = positionIds(config, rank);
  int64_t batch = global.dim(0), count = positions.size();
  if (global.getShape().size() == 4) {
    Tensor local({batch, count, global.dim(2), global.dim(3)}, 0.0);
    int64_t rowSize = global.dim(2) * global.dim(3);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < count; ++t)
        std::copy_n(global.at({b, positions[t]}), rowSize, local.at({b, t}));
    return local;
  }
  int64_t heads = global.dim(1);
  Tensor local({batch, heads, count}, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t t = 0; t < count; ++t)
        *local.at({b, h, t}) = *global.at({b, h, positions[t]});
  return local;
}

/// Writes rank `rank`'s part `local` of a result into `global`: rows of a
/// [B, seq, heads, D] tensor or columns of a [B, heads, seq] one (LSE).
void scatter(const AttentionConfig &config, const Tensor &local, int64_t rank,
             Tensor &global) {
  std::vector<int64_t> positions = positionIds(config, rank);
  int64_t batch = global.dim(0), count = positions.size();
  if (global.getShape().size() == 4) {
    int64_t rowSize = global.dim(2) * global.dim(3);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < count; ++t)
        std::copy_n(local.at({b, t}), rowSize, global.at({b, positions[t]}));
    return;
  }
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0, heads = global.dim(1); h < heads; ++h)
      for (int64_t t = 0; t < count; ++t)
        *global.at({b, h, positions[t]}) = *local.at({b, h, t});
}

/// What a rank leaves behind at `ringattn.finalize`.
struct RankResult {
  bool finalized = false;
  /// Its parts of the outputs, in local order: out and LSE (forward) or dQ,
  /// dK and dV (backward).
  std::vector<Tensor> outputs;
};

/// The state of one rank.
struct RankState {
  /// Its rows of Q and dO, [B, S_local, H, D].
  Tensor q, dout;
  /// Backward inputs: the final LSE of its rows and rowsum(dO * O).
  Tensor lse, rowDot;
  /// Buffer slots; a slot never written holds NaN.
  std::map<BufferId, Shard> buffers;
  /// Forward: the O/LSE accumulators and the partials of unfused steps.
  PartialAttention accumulator;
  std::map<int64_t, PartialAttention> partials;
  /// Backward: the dQ accumulator.
  Tensor dq;
  RankResult result;
};

class NumericSemantics : public ExecutionSemantics {
public:
  NumericSemantics(const ScheduleModel &model, int64_t batch,
                   const AttentionInputs &inputs,
                   const AttentionOutputs &reference)
      : config(model.config), direction(model.direction), batch(batch) {
    for (int64_t rank = 0; rank < config.cp; ++rank) {
      RankState &state = ranks.emplace_back();
      state.q = localPart(config, inputs.q, rank);
      state.dout = localPart(config, inputs.dout, rank);
      state.lse = localPart(config, reference.lse, rank);
      state.rowDot =
          rowDotProducts(state.dout, localPart(config, reference.out, rank));
      state.buffers[{BufferKind::kv_local, 0}] = {
          localPart(config, inputs.k, rank), localPart(config, inputs.v, rank)};
      state.accumulator = PartialAttention::empty(config, batch);
      state.dq = Tensor(state.q.getShape(), 0.0);
    }
  }

  void poison(int64_t rank, BufferId buffer) override {
    bufferOf(rank, buffer) = Shard::filled(config, batch, kNaN);
  }
  void capture(unsigned message, int64_t rank, BufferId buffer) override {
    messages[message] = bufferOf(rank, buffer);
  }
  void deliver(unsigned message, int64_t rank, BufferId buffer) override {
    bufferOf(rank, buffer) = messages.at(message);
  }

  void run(int64_t rank, const Instr &instr) override {
    switch (instr.kind) {
    case InstrKind::Compute:
      if (direction == Direction::forward)
        return computeForward(rank, instr);
      return computeBackward(rank, instr);
    case InstrKind::Combine:
      return combine(rank, instr);
    case InstrKind::Accumulate:
      return accumulate(rank, instr);
    case InstrKind::Finalize:
      return finalize(rank, instr);
    case InstrKind::Send:
    case InstrKind::Recv:
    case InstrKind::Wait:
      llvm_unreachable("transfers are the executor's");
    }
  }

  const RankResult &resultOf(int64_t rank) const { return ranks[rank].result; }

private:
  /// The contents of a slot; NaN if it was never written.
  Shard &bufferOf(int64_t rank, BufferId buffer) {
    auto &buffers = ranks[rank].buffers;
    auto it = buffers.find(buffer);
    if (it == buffers.end())
      it = buffers.emplace(buffer, Shard::filled(config, batch, kNaN)).first;
    return it->second;
  }

  void computeForward(int64_t rank, const Instr &instr) {
    RankState &state = ranks[rank];
    const Shard &kv = bufferOf(rank, instr.buffer);
    PartialAttention partial = PartialAttention::empty(config, batch);
    for (const ChunkPair &pair : instr.pairs)
      forwardPair(config, state.q, kv, pair, partial);
    if (instr.fusedCombine)
      mergeInto(state.accumulator, partial);
    else
      state.partials[instr.step] = std::move(partial);
  }

  /// Merges the partial of the step; a step never computed has an undefined
  /// (NaN) partial.
  void combine(int64_t rank, const Instr &instr) {
    RankState &state = ranks[rank];
    auto it = state.partials.find(instr.step);
    if (it == state.partials.end())
      mergeInto(state.accumulator, PartialAttention::undefined(config, batch));
    else
      mergeInto(state.accumulator, it->second);
  }

  /// Overwrites the dK/dV output with the step's partial dK/dV of the
  /// visiting shard; adds to the rank's dQ.
  void computeBackward(int64_t rank, const Instr &instr) {
    RankState &state = ranks[rank];
    const Shard &kv = bufferOf(rank, instr.buffer);
    Shard &dkv = bufferOf(rank, *instr.buffer2);
    dkv.k.fill(0.0);
    dkv.v.fill(0.0);
    BackwardInputs inputs{state.q, state.dout, state.lse, state.rowDot};
    for (const ChunkPair &pair : instr.pairs)
      backwardPair(config, inputs, kv, pair, state.dq, dkv);
  }

  void accumulate(int64_t rank, const Instr &instr) {
    const Shard &src = bufferOf(rank, instr.buffer);
    Shard &dst = bufferOf(rank, *instr.buffer2);
    auto add = [](Tensor &into, const Tensor &from) {
      std::transform(into.begin(), into.end(), from.begin(), into.begin(),
                     std::plus<double>());
    };
    add(dst.k, src.k);
    add(dst.v, src.v);
  }

  void finalize(int64_t rank, const Instr &instr) {
    RankState &state = ranks[rank];
    RankResult &result = state.result;
    result.finalized = true;
    if (direction == Direction::forward) {
      result.outputs = {state.accumulator.out, state.accumulator.lse};
      return;
    }
    const Shard &dkv = bufferOf(rank, instr.buffer);
    result.outputs = {state.dq, dkv.k, dkv.v};
  }

  const AttentionConfig &config;
  Direction direction;
  int64_t batch;
  std::vector<RankState> ranks;
  std::map<unsigned, Shard> messages;
};

/// Describes flat index `flat` of a result tensor: [B, seq, heads, D] rows or
/// [B, heads, seq] LSE columns.
std::string locate(const AttentionConfig &config, const Tensor &tensor,
                   int64_t flat, const std::string &headWord) {
  int64_t b, t, h;
  if (tensor.getShape().size() == 4) {
    int64_t heads = tensor.dim(2), d = tensor.dim(3);
    h = flat / d % heads;
    t = flat / d / heads % config.seq;
    b = flat / d / heads / config.seq;
  } else {
    int64_t heads = tensor.dim(1);
    t = flat % config.seq;
    h = flat / config.seq % heads;
    b = flat / config.seq / heads;
  }
  int64_t chunk = t / chunkLength(config);
  return "batch " + std::to_string(b) + ", token " + std::to_string(t) +
         " (chunk " + std::to_string(chunk) + ", rank " +
         std::to_string(rankOfChunk(config, chunk)) + "), " + headWord + " " +
         std::to_string(h);
}

TensorComparison compare(const AttentionConfig &config, std::string name,
                         const Tensor &actual, const Tensor &expected,
                         double tolerance, const std::string &headWord) {
  TensorComparison comparison;
  comparison.name = std::move(name);
  double maxExpected = 0, maxDifference = 0;
  int64_t worst = -1, firstNaN = -1;
  for (int64_t i = 0, e = expected.size(); i < e; ++i) {
    double x = actual.begin()[i], ref = expected.begin()[i];
    maxExpected = std::max(maxExpected, std::abs(ref));
    if (std::isnan(x)) {
      if (firstNaN < 0)
        firstNaN = i;
      continue;
    }
    double difference = x == ref ? 0.0 : std::abs(x - ref);
    if (difference > maxDifference) {
      maxDifference = difference;
      worst = i;
    }
  }
  if (firstNaN >= 0) {
    comparison.error = kNaN;
    worst = firstNaN;
  } else {
    comparison.error =
        maxExpected > 0 ? maxDifference / maxExpected : maxDifference;
  }
  comparison.passed = comparison.error <= tolerance;
  if (worst >= 0)
    comparison.worst = locate(config, expected, worst, headWord);
  return comparison;
}

} // namespace

SimulationReport mlir::ringattn::simulate(const ScheduleModel &model,
                                          const SimulationOptions &options) {
  const AttentionConfig &config = model.config;
  SimulationReport report;
  report.schedule = model.name;
  report.direction = model.direction;
  report.config = config;
  report.options = options;

  AttentionInputs inputs = randomInputs(config, options.batch, options.seed);
  AttentionOutputs reference = denseForward(config, inputs);
  NumericSemantics semantics(model, options.batch, inputs, reference);
  ExecutionResult execution = executeSchedule(model, semantics);
  for (const ExecutionIssue &issue : execution.issues)
    report.issues.push_back("rank " + std::to_string(issue.rank) + ": " +
                            issue.message);
  // After a deadlock the stuck ranks are reported already.
  if (execution.completed)
    for (int64_t rank = 0; rank < config.cp; ++rank)
      if (!semantics.resultOf(rank).finalized)
        report.issues.push_back("rank " + std::to_string(rank) +
                                ": the program ends without a finalize");

  // The outputs the ranks' results are compared with, in RankResult order.
  struct Expected {
    const char *name;
    const Tensor *tensor;
    const char *headWord;
  };
  std::vector<Expected> expected;
  AttentionGradients grads;
  if (model.direction == Direction::forward) {
    expected = {{"out", &reference.out, "head"},
                {"lse", &reference.lse, "head"}};
  } else {
    grads = denseBackward(config, inputs, reference);
    expected = {{"dq", &grads.dq, "head"},
                {"dk", &grads.dk, "kv head"},
                {"dv", &grads.dv, "kv head"}};
  }
  for (size_t i = 0; i < expected.size(); ++i) {
    // The parts of ranks that never finalize stay NaN.
    Tensor gathered(expected[i].tensor->getShape(), kNaN);
    for (int64_t rank = 0; rank < config.cp; ++rank)
      if (const RankResult &result = semantics.resultOf(rank); result.finalized)
        scatter(config, result.outputs[i], rank, gathered);
    report.tensors.push_back(compare(config, expected[i].name, gathered,
                                     *expected[i].tensor, options.tolerance,
                                     expected[i].headWord));
  }
  report.passed = report.issues.empty() &&
                  llvm::all_of(report.tensors, [](const TensorComparison &c) {
                    return c.passed;
                  });
  return report;
}

SimulationReport mlir::ringattn::simulate(ScheduleOp schedule,
                                          const SimulationOptions &options) {
  return simulate(buildScheduleModel(schedule), options);
}
