//===- OverlapCommunication.cpp - post early, wait late --------------------===//
//
// Reorders each rank program so that transfers overlap computation, by buffer
// hazards alone:
//  1. Split waits into one wait per transfer.
//  2. Sink every wait to just before the first op that conflicts with its
//     transfer (reads or writes a received slot, writes a sent buffer), or
//     before the NCCL group (run of posts) holding such an op, or finalize.
//  3. Hoist every group of posts, as a unit and in order, to just after the
//     last op it conflicts with; a wait it conflicts with is carried up with
//     it, but never above a compute unless that wait's transfer was posted
//     before the previous compute (a kernel never waits on a transfer posted
//     after the kernel before it).
//  4. Merge adjacent waits, their transfers in posting order.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/Builders.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_OVERLAPCOMMUNICATION
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// The buffers an op reads and writes (as "kind[slot]" attributes).
struct Access {
  SmallVector<BufferAttr, 2> reads, writes;
  /// Nothing moves across it (finalize ends the program).
  bool barrier = false;

  void append(const Access &other) {
    llvm::append_range(reads, other.reads);
    llvm::append_range(writes, other.writes);
    barrier |= other.barrier;
  }

  bool conflictsWith(const Access &other) const {
    if (barrier || other.barrier)
      return true;
    auto overlaps = [](ArrayRef<BufferAttr> a, ArrayRef<BufferAttr> b) {
      return llvm::any_of(a, [&](BufferAttr x) { return llvm::is_contained(b, x); });
    };
    return overlaps(writes, other.reads) || overlaps(writes, other.writes) ||
           overlaps(reads, other.writes);
  }
};

bool isPost(Operation *op) { return isa<SendOp, RecvOp>(op); }

Access accessOf(Operation *op) {
  Access access;
  if (auto send = dyn_cast<SendOp>(op))
    access.reads.push_back(send.getBuffer());
  else if (auto recv = dyn_cast<RecvOp>(op))
    access.writes.push_back(recv.getBuffer());
  else if (auto wait = dyn_cast<WaitOp>(op))
    for (Value transfer : wait.getTransfers())
      access.append(accessOf(transfer.getDefiningOp()));
  else if (auto compute = dyn_cast<ComputeOp>(op)) {
    access.reads.push_back(compute.getKv());
    if (auto dkv = compute.getDkv())
      access.writes.push_back(*dkv);
  } else if (auto accumulate = dyn_cast<AccumulateOp>(op)) {
    access.reads.push_back(accumulate.getSrc());
    access.reads.push_back(accumulate.getDst());
    access.writes.push_back(accumulate.getDst());
  } else if (isa<FinalizeOp>(op)) {
    access.barrier = true;
  }
  return access;
}

Access accessOfAll(ArrayRef<Operation *> ops) {
  Access access;
  for (Operation *op : ops)
    access.append(accessOf(op));
  return access;
}

class RankReorderer {
public:
  RankReorderer(Block &block, int64_t &movedPosts, int64_t &movedWaits)
      : block(block), movedPosts(movedPosts), movedWaits(movedWaits) {}

  void run() {
    collectGroups();
    splitWaits();
    sinkWaits();
    hoistPostGroups();
    mergeWaits();
  }

private:
  /// The NCCL groups of the original program (runs of consecutive posts).
  /// They move as units, also once the waits between them have moved away.
  void collectGroups() {
    for (Operation &op : block) {
      if (!isPost(&op))
        continue;
      Operation *prev = op.getPrevNode();
      if (!prev || !isPost(prev))
        groups.emplace_back();
      groups.back().push_back(&op);
      groupOf[&op] = groups.size() - 1;
    }
  }

  void splitWaits() {
    for (WaitOp wait : llvm::make_early_inc_range(block.getOps<WaitOp>())) {
      if (wait.getTransfers().size() == 1)
        continue;
      OpBuilder builder(wait);
      for (Value transfer : wait.getTransfers())
        WaitOp::create(builder, wait.getLoc(), transfer);
      wait.erase();
    }
  }

  void sinkWaits() {
    SmallVector<WaitOp> waits(block.getOps<WaitOp>());
    for (WaitOp wait : llvm::reverse(waits)) {
      Access access = accessOf(wait);
      Operation *after = wait;
      for (Operation *next = wait->getNextNode(); next;) {
        SmallVector<Operation *> unit =
            isPost(next) ? groups[groupOf.lookup(next)]
                         : SmallVector<Operation *>{next};
        if (!isa<WaitOp>(next) && access.conflictsWith(accessOfAll(unit)))
          break;
        after = unit.back();
        next = after->getNextNode();
      }
      if (after != wait.getOperation()) {
        wait->moveAfter(after);
        ++movedWaits;
      }
    }
  }

  /// The compute before `op` in the block, or null.
  static Operation *previousCompute(Operation *op) {
    for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode())
      if (isa<ComputeOp>(prev))
        return prev;
    return nullptr;
  }

  /// Whether every carried wait's transfer was posted before the compute
  /// preceding `compute`, so that the wait may stand before `compute`.
  static bool mayPrecede(ArrayRef<Operation *> carried, Operation *compute) {
    if (carried.empty())
      return true;
    Operation *previous = previousCompute(compute);
    if (!previous)
      return false;
    return llvm::all_of(carried, [&](Operation *wait) {
      return llvm::all_of(cast<WaitOp>(wait).getTransfers(), [&](Value t) {
        return t.getDefiningOp()->isBeforeInBlock(previous);
      });
    });
  }

  void hoistPostGroups() {
    for (ArrayRef<Operation *> group : groups) {
      Access access = accessOfAll(group);
      SmallVector<Operation *> carried;
      Operation *top = group.front();
      bool moved = false;
      while (Operation *prev = top->getPrevNode()) {
        if (isPost(prev))
          break;
        bool conflict = access.conflictsWith(accessOf(prev));
        if (isa<WaitOp>(prev) && conflict) {
          carried.insert(carried.begin(), prev);
          top = prev;
          continue;
        }
        if (conflict)
          break;
        if (isa<ComputeOp>(prev) && !mayPrecede(carried, prev))
          break;
        prev->moveAfter(group.back());
        moved = true;
      }
      if (moved)
        ++movedPosts;
    }
  }

  void mergeWaits() {
    // (An empty rank program has no front op.)
    for (Operation *op = block.empty() ? nullptr : &block.front(); op;
         op = op->getNextNode()) {
      auto wait = dyn_cast<WaitOp>(op);
      if (!wait)
        continue;
      SmallVector<Value> transfers(wait.getTransfers());
      SmallVector<Operation *> merged;
      for (Operation *next = op->getNextNode(); next && isa<WaitOp>(next);
           next = next->getNextNode()) {
        llvm::append_range(transfers, cast<WaitOp>(next).getTransfers());
        merged.push_back(next);
      }
      if (merged.empty())
        continue;
      // List the transfers in posting order: sinking reverses waits that end
      // up at the same point, and the pass must be stable on its own output.
      llvm::sort(transfers, [](Value a, Value b) {
        return a.getDefiningOp()->isBeforeInBlock(b.getDefiningOp());
      });
      wait.getTransfersMutable().assign(transfers);
      for (Operation *dead : merged)
        dead->erase();
    }
  }

  Block &block;
  SmallVector<SmallVector<Operation *>> groups;
  DenseMap<Operation *, unsigned> groupOf;
  int64_t &movedPosts;
  int64_t &movedWaits;
};

struct OverlapCommunicationPass
    : public ringattn::impl::OverlapCommunicationBase<OverlapCommunicationPass> {
  void runOnOperation() override {
    int64_t movedPosts = 0, movedWaits = 0;
    getOperation().walk([&](RankOp rank) {
      RankReorderer(rank.getBody().front(), movedPosts, movedWaits).run();
    });
    numMovedPosts += movedPosts;
    numMovedWaits += movedWaits;
  }
};

} // namespace
