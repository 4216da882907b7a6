//===- Pipeline.cpp - the schedule pipeline --------------------------------===//

#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"

using namespace mlir;
using namespace mlir::ringattn;

void mlir::ringattn::buildSchedulePipeline(OpPassManager &pm, bool reportWork) {
  pm.addPass(createExpandSchedule());
  pm.addPass(createPruneHiddenPairs());
  pm.addPass(createDeriveBackward());
  pm.addPass(createOverlapCommunication());
  pm.addPass(createFuseCombine());
  VerifyScheduleOptions options;
  options.reportWork = reportWork;
  pm.addPass(createVerifySchedule(options));
}

void mlir::ringattn::registerSchedulePipeline() {
  PassPipelineRegistration<>(
      "ringattn-schedule-pipeline",
      "Expand, prune, derive backward, overlap, fuse combine and verify",
      [](OpPassManager &pm) { buildSchedulePipeline(pm); });
}
