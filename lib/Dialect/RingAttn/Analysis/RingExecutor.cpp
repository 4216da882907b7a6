//===- RingExecutor.cpp - the adversarial ring execution model -------------===//
//
// Runs all ranks of a schedule round-robin; see RingExecutor.h for the rules.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Analysis/RingExecutor.h"

#include "llvm/ADT/DenseSet.h"

#include <deque>
#include <map>
#include <set>

using namespace mlir;
using namespace mlir::ringattn;

ExecutionSemantics::~ExecutionSemantics() = default;

namespace {

struct TransferState {
  const Instr *post = nullptr;
  unsigned group = 0;
  bool posted = false;
  bool matched = false;
  /// The two ends disagree on what travels (K/V against dK/dV).
  bool mismatched = false;
  int64_t partnerRank = -1;
  unsigned partnerId = ~0u;
  bool complete = false;
  unsigned message = ~0u;
  unsigned waits = 0;
};

struct RankState {
  size_t pc = 0;
  bool done = false;
  std::vector<TransferState> transfers;
  /// NCCL groups: runs of consecutive posts, as transfer ids.
  std::vector<std::vector<unsigned>> groups;
};

class Executor {
public:
  Executor(const ScheduleModel &model, ExecutionSemantics &semantics)
      : model(model), semantics(semantics) {
    for (const RankProgram &program : model.ranks) {
      RankState &state = ranks.emplace_back();
      state.transfers.resize(program.transfers.size());
      bool inGroup = false;
      for (const Instr &instr : program.instrs) {
        if (!instr.isPost()) {
          inGroup = false;
          continue;
        }
        if (!inGroup)
          state.groups.emplace_back();
        inGroup = true;
        state.groups.back().push_back(instr.transfer);
        TransferState &transfer = state.transfers[instr.transfer];
        transfer.post = &instr;
        transfer.group = state.groups.size() - 1;
      }
    }
  }

  ExecutionResult run() {
    bool allDone = false;
    while (!allDone) {
      bool progress = false;
      allDone = true;
      for (int64_t rank = 0, e = ranks.size(); rank < e; ++rank) {
        progress |= runRank(rank);
        allDone &= ranks[rank].done;
      }
      if (!allDone && !progress) {
        reportDeadlock();
        return {std::move(issues), /*completed=*/false};
      }
    }
    for (int64_t rank = 0, e = ranks.size(); rank < e; ++rank) {
      for (TransferState &transfer : ranks[rank].transfers) {
        if (!transfer.matched)
          issue(rank, transfer.post,
                "'" + transfer.post->str() + "' is never matched by rank " +
                    std::to_string(transfer.post->peer));
        else if (transfer.waits == 0)
          issue(rank, transfer.post,
                "'" + transfer.post->str() + "' is never waited");
      }
    }
    return {std::move(issues), /*completed=*/true};
  }

private:
  void issue(int64_t rank, const Instr *instr, std::string message) {
    issues.push_back({rank, instr, std::move(message)});
  }

  /// Posts a send or receive and matches it with the peer's oldest
  /// unmatched opposite post between the same two ranks.
  /// Reports a write of `buffer` by `instr` while one of the rank's sends
  /// from that buffer is posted and not yet waited: the send may still read
  /// it (the IR's rule: a sent buffer stays unmodified until its wait).
  void checkNoSendInFlight(int64_t rank, const Instr &instr, BufferId buffer) {
    for (TransferState &transfer : ranks[rank].transfers)
      if (transfer.posted && transfer.waits == 0 &&
          transfer.post->kind == InstrKind::Send &&
          transfer.post->buffer == buffer)
        issue(rank, &instr,
              "'" + instr.str() + "' overwrites " + buffer.str() + " while '" +
                  transfer.post->str() + "' has not been waited");
  }

  void post(int64_t rank, const Instr &instr) {
    TransferState &transfer = ranks[rank].transfers[instr.transfer];
    transfer.posted = true;
    bool isSend = instr.kind == InstrKind::Send;
    if (!isSend) {
      checkNoSendInFlight(rank, instr, instr.buffer);
      semantics.poison(rank, instr.buffer);
    }
    auto key = isSend ? std::make_pair(rank, instr.peer)
                      : std::make_pair(instr.peer, rank);
    auto &mine = isSend ? pendingSends[key] : pendingRecvs[key];
    auto &theirs = isSend ? pendingRecvs[key] : pendingSends[key];
    if (theirs.empty()) {
      mine.push_back({rank, instr.transfer});
      return;
    }
    auto [peerRank, peerId] = theirs.front();
    theirs.pop_front();
    TransferState &other = ranks[peerRank].transfers[peerId];
    transfer.matched = other.matched = true;
    transfer.partnerRank = peerRank;
    transfer.partnerId = peerId;
    other.partnerRank = rank;
    other.partnerId = instr.transfer;
    const Instr &sendInstr = isSend ? instr : *other.post;
    const Instr &recvInstr = isSend ? *other.post : instr;
    if (sendInstr.buffer.holdsKV() != recvInstr.buffer.holdsKV()) {
      transfer.mismatched = other.mismatched = true;
      int64_t sender = isSend ? rank : peerRank;
      int64_t receiver = isSend ? peerRank : rank;
      issue(rank, &instr,
            "rank " + std::to_string(sender) + "'s '" + sendInstr.str() +
                "' is matched by rank " + std::to_string(receiver) + "'s '" +
                recvInstr.str() + "': sends and receives between two ranks "
                "match in posting order, and these carry different data");
    }
  }

  /// Completes every transfer of the groups before `group` on `rank`.
  bool completeGroupsBefore(int64_t rank, unsigned group) {
    for (unsigned g = 0; g < group; ++g)
      for (unsigned id : ranks[rank].groups[g])
        if (!complete(rank, id))
          return false;
    return true;
  }

  /// Forces transfer `id` of `rank` to complete, capturing the send's source
  /// now. Fails if it, or an earlier group it waits behind, cannot complete.
  bool complete(int64_t rank, unsigned id) {
    TransferState &transfer = ranks[rank].transfers[id];
    if (transfer.complete)
      return true;
    if (!transfer.posted || !transfer.matched)
      return false;
    if (!visiting.insert({rank, id}).second)
      return false;
    int64_t peerRank = transfer.partnerRank;
    unsigned peerId = transfer.partnerId;
    bool ready = completeGroupsBefore(rank, transfer.group) &&
                 completeGroupsBefore(peerRank,
                                      ranks[peerRank].transfers[peerId].group);
    visiting.erase({rank, id});
    if (!ready)
      return false;
    TransferState &other = ranks[peerRank].transfers[peerId];
    bool isSend = transfer.post->kind == InstrKind::Send;
    int64_t sender = isSend ? rank : peerRank;
    const Instr &sendInstr = isSend ? *transfer.post : *other.post;
    unsigned message = nextMessage++;
    semantics.capture(message, sender, sendInstr.buffer);
    transfer.complete = other.complete = true;
    transfer.message = other.message = message;
    return true;
  }

  /// Runs `rank` until it blocks or ends; returns whether it made progress.
  bool runRank(int64_t rank) {
    RankState &state = ranks[rank];
    const RankProgram &program = model.ranks[rank];
    bool progress = false;
    while (state.pc < program.instrs.size()) {
      const Instr &instr = program.instrs[state.pc];
      if (instr.isPost()) {
        post(rank, instr);
      } else if (instr.kind == InstrKind::Wait) {
        for (unsigned id : instr.waits)
          if (!complete(rank, id))
            return progress;
        for (unsigned id : instr.waits) {
          TransferState &transfer = state.transfers[id];
          if (++transfer.waits == 2)
            issue(rank, &instr,
                  "'" + transfer.post->str() + "' is waited twice");
          if (transfer.post->kind != InstrKind::Recv)
            continue;
          if (transfer.mismatched)
            semantics.poison(rank, transfer.post->buffer);
          else
            semantics.deliver(transfer.message, rank, transfer.post->buffer);
        }
      } else {
        // Computes write their dK/dV output, accumulates their destination.
        if (instr.buffer2 && (instr.kind == InstrKind::Compute ||
                              instr.kind == InstrKind::Accumulate))
          checkNoSendInFlight(rank, instr, *instr.buffer2);
        semantics.run(rank, instr);
      }
      ++state.pc;
      progress = true;
    }
    state.done = true;
    return progress;
  }

  void reportDeadlock() {
    for (int64_t rank = 0, e = ranks.size(); rank < e; ++rank) {
      RankState &state = ranks[rank];
      if (state.done)
        continue;
      const Instr &wait = model.ranks[rank].instrs[state.pc];
      std::string why = "an earlier NCCL group of it, or of its peer, never "
                        "completes";
      for (unsigned id : wait.waits) {
        TransferState &transfer = state.transfers[id];
        if (transfer.complete)
          continue;
        if (!transfer.matched) {
          why = "'" + transfer.post->str() + "' is never matched by rank " +
                std::to_string(transfer.post->peer);
          break;
        }
        why = "'" + transfer.post->str() +
              "' waits behind a group that never completes";
      }
      issue(rank, &wait, "deadlock: rank " + std::to_string(rank) +
                             " blocks forever at a wait: " + why);
    }
  }

  const ScheduleModel &model;
  ExecutionSemantics &semantics;
  std::vector<RankState> ranks;
  std::map<std::pair<int64_t, int64_t>, std::deque<std::pair<int64_t, unsigned>>>
      pendingSends, pendingRecvs;
  std::set<std::pair<int64_t, unsigned>> visiting;
  unsigned nextMessage = 0;
  std::vector<ExecutionIssue> issues;
};

} // namespace

ExecutionResult
mlir::ringattn::executeSchedule(const ScheduleModel &model,
                                ExecutionSemantics &semantics) {
  return Executor(model, semantics).run();
}
