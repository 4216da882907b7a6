//===- Passes.h - ringattn schedule passes ----------------------*- C++ -*-===//
//
// Declarations and registration of the schedule passes and the schedule
// pipeline.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_RINGATTN_TRANSFORMS_PASSES_H
#define RINGATTN_DIALECT_RINGATTN_TRANSFORMS_PASSES_H

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"

namespace mlir::ringattn {

#define GEN_PASS_DECL
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"

/// Adds the full schedule pipeline: expand, prune, derive backward, overlap,
/// fuse combine, verify.
void buildSchedulePipeline(OpPassManager &pm, bool reportWork = false);

/// Registers the `ringattn-schedule-pipeline` pipeline.
void registerSchedulePipeline();

#define GEN_PASS_REGISTRATION
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h.inc"

} // namespace mlir::ringattn

#endif // RINGATTN_DIALECT_RINGATTN_TRANSFORMS_PASSES_H
