//===- FuseCombine.cpp - combine in the kernel epilogue --------------------===//
//
// Marks the compute of each combined step `combine` and erases the combine:
// the step's kernel merges its partial into the accumulators itself.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_FUSECOMBINE
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// Whether `combine` follows `compute` with no finalize between them, so that
/// folding it into the compute's epilogue keeps the program's meaning.
bool combinesInPlace(ComputeOp compute, CombineOp combine) {
  if (!compute->isBeforeInBlock(combine))
    return false;
  for (Operation *op = compute->getNextNode(); op != combine.getOperation();
       op = op->getNextNode())
    if (isa<FinalizeOp>(op))
      return false;
  return true;
}

struct FuseCombinePass : public ringattn::impl::FuseCombineBase<FuseCombinePass> {
  void runOnOperation() override {
    getOperation().walk([&](RankOp rank) {
      DenseMap<int64_t, ComputeOp> computes;
      for (ComputeOp compute : rank.getBody().front().getOps<ComputeOp>())
        computes.try_emplace(compute.getStep(), compute);
      for (CombineOp combine :
           llvm::make_early_inc_range(rank.getBody().front().getOps<CombineOp>())) {
        ComputeOp compute = computes.lookup(combine.getStep());
        // A combine without its compute, a second combine of a step, and a
        // combine that does not stand between its compute and the finalize
        // that reads the accumulators are left for the verifier to report:
        // fusing them would hide the error.
        if (!compute || compute.getCombine() ||
            !combinesInPlace(compute, combine))
          continue;
        compute.setCombine(true);
        combine.erase();
        ++numFused;
      }
    });
  }
};

} // namespace
