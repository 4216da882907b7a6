//===- ScheduleChecker.cpp - symbolic execution of schedules ---------------===//
//
// Buffers hold labels instead of numbers: a K/V slot holds "the shard of rank
// j"; a dK/dV slot holds "the accumulator of rank j's shard" with the list of
// chunk pairs whose gradients it has summed. Executing the schedule under the
// ring execution model then shows what every pair read and where every
// gradient went.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleChecker.h"
#include "ringattn/Dialect/RingAttn/Analysis/RingExecutor.h"

#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <map>

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// A chunk pair computed somewhere.
struct Computed {
  int64_t q, kv, rank, step;
  Operation *op;
};

/// The label a buffer holds.
struct Content {
  enum State { Empty, InFlight, Shard } state = Empty;
  /// Shard: the rank whose K/V shard (or dK/dV accumulator) this is.
  int64_t owner = -1;
  /// dK/dV: the pairs whose gradients are summed in.
  std::vector<Computed> contributions;
};

std::string chunkList(const AttentionConfig &config, int64_t rank) {
  auto chunks = chunksOfRank(config, rank);
  if (chunks.size() == 1)
    return "chunk " + std::to_string(chunks[0]);
  return "chunks " + std::to_string(chunks[0]) + " and " +
         std::to_string(chunks[1]);
}

std::string where(int64_t rank, int64_t step) {
  return "rank " + std::to_string(rank) + ", step " + std::to_string(step);
}

/// A work figure without trailing zeros: 2, 0.5, 1.25.
std::string units(double value) {
  std::string text = llvm::formatv("{0:F4}", value).str();
  return llvm::StringRef(text).rtrim('0').rtrim('.').str();
}

std::string pairName(int64_t q, int64_t kv) {
  return "pair (q " + std::to_string(q) + ", kv " + std::to_string(kv) + ")";
}

class SymbolicSemantics : public ExecutionSemantics {
public:
  explicit SymbolicSemantics(const ScheduleModel &model)
      : model(model), config(model.config), buffers(config.cp),
        partials(config.cp), finalized(config.cp, false), homes(config.cp) {
    for (int64_t rank = 0; rank < config.cp; ++rank) {
      Content &local = buffers[rank][{BufferKind::kv_local, 0}];
      local.state = Content::Shard;
      local.owner = rank;
    }
  }

  void poison(int64_t rank, BufferId buffer) override {
    buffers[rank][buffer] = Content{Content::InFlight};
  }
  void capture(unsigned message, int64_t rank, BufferId buffer) override {
    if (messages.size() <= message)
      messages.resize(message + 1);
    messages[message] = buffers[rank][buffer];
  }
  void deliver(unsigned message, int64_t rank, BufferId buffer) override {
    buffers[rank][buffer] = messages[message];
  }

  void run(int64_t rank, const Instr &instr) override {
    switch (instr.kind) {
    case InstrKind::Compute:
      return compute(rank, instr);
    case InstrKind::Combine:
      return combine(rank, instr);
    case InstrKind::Accumulate:
      return accumulate(rank, instr);
    case InstrKind::Finalize:
      return finalize(rank, instr);
    default:
      llvm_unreachable("transfers are the executor's");
    }
  }

  /// Errors found after the run: coverage, unfinished ranks, lost gradients.
  void finish(bool completed) {
    if (!completed)
      return;
    for (int64_t rank = 0; rank < config.cp; ++rank)
      if (!finalized[rank])
        error(model.ranks[rank].instrs.empty()
                  ? model.op
                  : model.ranks[rank].instrs.back().op,
              "rank " + std::to_string(rank) + " never finalizes");
    bool covered = true;
    for (const ChunkPair &pair : visiblePairs(config)) {
      auto it = coverage.find({pair.q, pair.kv});
      if (it == coverage.end() || it->second.empty()) {
        covered = false;
        error(model.op, pairName(pair.q, pair.kv) +
                            " is never computed (rank " +
                            std::to_string(rankOfChunk(config, pair.q)) +
                            " holds q chunk " + std::to_string(pair.q) + ")");
        continue;
      }
      const std::vector<Computed> &seen = it->second;
      for (size_t i = 1; i < seen.size(); ++i) {
        covered = false;
        error(seen[i].op, where(seen[i].rank, seen[i].step) + ": " +
                              pairName(pair.q, pair.kv) +
                              " is computed again (first at " +
                              where(seen[0].rank, seen[0].step) + ")");
      }
    }
    if (model.direction == Direction::backward && covered)
      checkGradientsCameHome();
  }

  std::vector<std::pair<Operation *, std::string>> errors;

private:
  void error(Operation *op, std::string message) {
    errors.push_back({op, std::move(message)});
  }

  void compute(int64_t rank, const Instr &instr) {
    const Content &kv = buffers[rank][instr.buffer];
    std::string at = where(rank, instr.step);
    if (kv.state == Content::InFlight)
      error(instr.op, at + ": reads " + instr.buffer.str() +
                          " while a receive into it is in flight (not yet "
                          "waited)");
    else if (kv.state == Content::Empty)
      error(instr.op, at + ": reads " + instr.buffer.str() +
                          ", which holds no K/V shard");
    Content partial;
    partial.state = Content::Shard;
    partial.owner = kv.owner;
    for (auto [pair, pairOp] : llvm::zip(instr.pairs, instr.pairOps)) {
      if (config.causal && pair.mask != MaskKind::hidden && pair.q < pair.kv)
        error(pairOp, at + ": " + pairName(pair.q, pair.kv) +
                          " lies above the causal diagonal");
      if (kv.state == Content::Shard) {
        auto held = chunksOfRank(config, kv.owner);
        if (!llvm::is_contained(held, pair.kv))
          error(pairOp, at + ": " + pairName(pair.q, pair.kv) + " reads " +
                            instr.buffer.str() + ", which holds the K/V of rank " +
                            std::to_string(kv.owner) + " (" +
                            chunkList(config, kv.owner) + ")");
      }
      if (pair.mask == MaskKind::hidden)
        continue;
      Computed computed{pair.q, pair.kv, rank, instr.step, pairOp};
      coverage[{pair.q, pair.kv}].push_back(computed);
      partial.contributions.push_back(computed);
    }
    if (model.direction == Direction::forward) {
      int &state = partials[rank][instr.step];
      if (state != 0)
        error(instr.op, at + ": step " + std::to_string(instr.step) +
                            " is computed a second time");
      state = instr.fusedCombine ? 2 : 1;
      return;
    }
    Content &out = buffers[rank][*instr.buffer2];
    if (out.state == Content::InFlight)
      error(instr.op, at + ": writes " + instr.buffer2->str() +
                          " while a receive into it is in flight (not yet "
                          "waited)");
    out = std::move(partial);
  }

  void combine(int64_t rank, const Instr &instr) {
    auto it = partials[rank].find(instr.step);
    std::string at = where(rank, instr.step);
    if (it == partials[rank].end() || it->second == 0)
      error(instr.op, at + ": combine has no computed partial of step " +
                          std::to_string(instr.step));
    else if (it->second == 2)
      error(instr.op, at + ": the partial of step " +
                          std::to_string(instr.step) + " is combined twice");
    else
      it->second = 2;
  }

  void accumulate(int64_t rank, const Instr &instr) {
    const Content &src = buffers[rank][instr.buffer];
    Content &dst = buffers[rank][*instr.buffer2];
    std::string at = "rank " + std::to_string(rank) + ": '" + instr.str() + "'";
    if (src.state != Content::Shard) {
      error(instr.op, at + " adds from " + instr.buffer.str() +
                          ", which holds no partial");
      return;
    }
    if (dst.state == Content::InFlight) {
      error(instr.op, at + " adds into " + instr.buffer2->str() +
                          " while its receive is in flight (not yet waited)");
      return;
    }
    if (dst.state == Content::Empty) {
      error(instr.op, at + " adds into " + instr.buffer2->str() +
                          ", which holds no accumulator");
      return;
    }
    if (dst.owner != src.owner)
      error(instr.op, at + " adds the partial of rank " +
                          std::to_string(src.owner) +
                          "'s shard into the accumulator of rank " +
                          std::to_string(dst.owner) + "'s shard");
    llvm::append_range(dst.contributions, src.contributions);
  }

  void finalize(int64_t rank, const Instr &instr) {
    std::string at = "rank " + std::to_string(rank);
    if (finalized[rank])
      error(instr.op, at + " finalizes twice");
    finalized[rank] = true;
    if (model.direction == Direction::forward) {
      for (auto [step, state] : partials[rank])
        if (state == 1)
          error(instr.op, where(rank, step) + ": the partial of step " +
                              std::to_string(step) + " is never combined");
      return;
    }
    const Content &home = buffers[rank][instr.buffer];
    if (home.state == Content::InFlight)
      error(instr.op, at + " finalizes " + instr.buffer.str() +
                          " while its receive is in flight (not yet waited)");
    else if (home.state == Content::Empty)
      error(instr.op, at + " finalizes " + instr.buffer.str() +
                          ", which holds no accumulator");
    else if (home.owner != rank)
      error(instr.op, at + " finalizes " + instr.buffer.str() +
                          ", which holds the accumulator of rank " +
                          std::to_string(home.owner) + "'s shard");
    else
      homes[rank] = home.contributions;
  }

  /// Every pair's dK/dV contribution reaches the owner of its K/V chunk
  /// exactly once.
  void checkGradientsCameHome() {
    for (int64_t rank = 0; rank < config.cp; ++rank) {
      if (!finalized[rank])
        continue;
      std::map<std::pair<int64_t, int64_t>, int> arrived;
      for (const Computed &c : homes[rank])
        ++arrived[{c.q, c.kv}];
      for (const ChunkPair &pair : visiblePairs(config)) {
        if (rankOfChunk(config, pair.kv) != rank)
          continue;
        const Computed &c = coverage[{pair.q, pair.kv}].front();
        int count = arrived[{pair.q, pair.kv}];
        if (count == 1)
          continue;
        error(c.op, "dK/dV of " + pairName(pair.q, pair.kv) +
                        ", computed at " + where(c.rank, c.step) +
                        (count == 0 ? ", never reaches rank "
                                    : ", reaches rank ") +
                        std::to_string(rank) +
                        (count == 0 ? "" : " " + std::to_string(count) +
                                               " times"));
      }
    }
  }

  const ScheduleModel &model;
  const AttentionConfig &config;
  std::vector<std::map<BufferId, Content>> buffers;
  std::vector<Content> messages;
  /// Forward: per rank, step -> 1 computed, 2 combined.
  std::vector<std::map<int64_t, int>> partials;
  std::vector<bool> finalized;
  std::vector<std::vector<Computed>> homes;
  std::map<std::pair<int64_t, int64_t>, std::vector<Computed>> coverage;
};

/// Backward: no compute may wait on a dK/dV hop posted after the previous
/// compute, so every dK/dV hop overlaps a whole kernel.
void checkDkvHopsOverlap(const ScheduleModel &model,
                         std::vector<std::pair<Operation *, std::string>> &errors) {
  if (model.direction != Direction::backward)
    return;
  for (const RankProgram &program : model.ranks) {
    int64_t previousCompute = -1;
    int64_t previousStep = -1;
    llvm::SmallVector<unsigned> waitedSince;
    for (int64_t i = 0, e = program.instrs.size(); i < e; ++i) {
      const Instr &instr = program.instrs[i];
      if (instr.kind == InstrKind::Wait)
        llvm::append_range(waitedSince, instr.waits);
      if (instr.kind != InstrKind::Compute)
        continue;
      for (unsigned id : waitedSince) {
        const Instr &post = program.instrs[program.transfers[id]];
        if (post.buffer.holdsKV() ||
            static_cast<int64_t>(program.transfers[id]) < previousCompute)
          continue;
        errors.push_back(
            {instr.op,
             where(program.rank, instr.step) + ": the compute waits on '" +
                 post.str() + "', posted after " +
                 (previousCompute < 0
                      ? std::string("no earlier compute")
                      : "the compute of step " + std::to_string(previousStep)) +
                 ": a dK/dV hop must overlap a whole kernel"});
      }
      waitedSince.clear();
      previousCompute = i;
      previousStep = instr.step;
    }
  }
}

} // namespace

LogicalResult mlir::ringattn::checkSchedule(const ScheduleModel &model) {
  SymbolicSemantics semantics(model);
  ExecutionResult result = executeSchedule(model, semantics);
  semantics.finish(result.completed);
  std::vector<std::pair<Operation *, std::string>> errors;
  for (const ExecutionIssue &issue : result.issues)
    errors.push_back({issue.instr ? issue.instr->op : model.op,
                      "rank " + std::to_string(issue.rank) + ": " +
                          issue.message});
  llvm::append_range(errors, semantics.errors);
  checkDkvHopsOverlap(model, errors);
  for (auto &[op, message] : errors)
    op->emitError() << message;
  return success(errors.empty());
}

WorkReport mlir::ringattn::reportWork(const ScheduleModel &model) {
  WorkReport report;
  report.work = workPerRankAndStep(model);
  int64_t cp = model.config.cp;
  double total = 0;
  std::string verdict;
  for (int64_t step = 0; step < cp; ++step) {
    double lo = report.work[0][step], hi = lo;
    int64_t loRank = 0, hiRank = 0;
    for (int64_t rank = 0; rank < cp; ++rank) {
      double w = report.work[rank][step];
      total += w;
      if (w < lo)
        lo = w, loRank = rank;
      if (w > hi)
        hi = w, hiRank = rank;
    }
    report.ringUnits += hi;
    if (lo != hi && report.balanced) {
      report.balanced = false;
      verdict = "unbalanced: at step " + std::to_string(step) +
                " work ranges from " + units(lo) + " (rank " +
                std::to_string(loRank) + ") to " + units(hi) + " (rank " +
                std::to_string(hiRank) + ") units";
    }
  }
  report.balancedUnits = total / cp;
  for (int64_t rank = 0; rank < cp; ++rank) {
    std::string line = "rank " + std::to_string(rank) + " work per step:";
    for (int64_t step = 0; step < cp; ++step)
      line += (step ? ", " : " ") + units(report.work[rank][step]);
    report.lines.push_back(line);
  }
  if (report.balanced)
    verdict = "balanced: at every step every rank does the same work";
  verdict += "; the ring takes " + units(report.ringUnits) +
             " units of step time, " + units(total) +
             " units of work spread evenly would take " +
             units(report.balancedUnits);
  report.lines.push_back(verdict);
  return report;
}
