//===- PruneHiddenPairs.cpp - drop pairs the causal mask hides -------------===//
//
// Erases hidden chunk pairs, then computes left without pairs and their
// combines.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_PRUNEHIDDENPAIRS
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

struct PruneHiddenPairsPass
    : public ringattn::impl::PruneHiddenPairsBase<PruneHiddenPairsPass> {
  void runOnOperation() override {
    SmallVector<PairOp> hidden;
    getOperation().walk([&](PairOp pair) {
      if (pair.getMask() == MaskKind::hidden)
        hidden.push_back(pair);
    });
    for (PairOp pair : hidden)
      pair.erase();
    numPrunedPairs += hidden.size();

    SmallVector<ComputeOp> empty;
    getOperation().walk([&](ComputeOp compute) {
      if (compute.getPairs().empty())
        empty.push_back(compute);
    });
    for (ComputeOp compute : empty) {
      Block *rank = compute->getBlock();
      int64_t step = compute.getStep();
      for (CombineOp combine :
           llvm::make_early_inc_range(rank->getOps<CombineOp>()))
        if (static_cast<int64_t>(combine.getStep()) == step)
          combine.erase();
      compute.erase();
    }
    numPrunedComputes += empty.size();
  }
};

} // namespace
