//===- VerifySchedule.cpp - the schedule verifier pass ---------------------===//
//
// Runs the symbolic checker on every schedule and, optionally, remarks the
// work per rank and step and the balance verdict.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleChecker.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_VERIFYSCHEDULE
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

struct VerifySchedulePass
    : public ringattn::impl::VerifyScheduleBase<VerifySchedulePass> {
  using Base::Base;

  void runOnOperation() override {
    bool failed = false;
    for (ScheduleOp schedule : getOperation().getBody()->getOps<ScheduleOp>()) {
      ScheduleModel model = buildScheduleModel(schedule);
      failed |= mlir::failed(checkSchedule(model));
      if (reportWork)
        for (const std::string &line : ringattn::reportWork(model).lines)
          schedule.emitRemark() << line;
    }
    if (failed)
      signalPassFailure();
  }
};

} // namespace
