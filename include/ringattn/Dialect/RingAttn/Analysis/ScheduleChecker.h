//===- ScheduleChecker.h - the schedule verifier ----------------*- C++ -*-===//
//
// The schedule verifier: executes a schedule symbolically (buffers hold
// labels: whose K/V shard, whose dK/dV accumulator with which contributions)
// under the ring execution model and reports coverage, causality, buffer and
// protocol errors at the ops at fault. Also the work report (full pair 1 unit,
// diagonal 1/2) and the balance verdict.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_RINGATTN_ANALYSIS_SCHEDULECHECKER_H
#define RINGATTN_DIALECT_RINGATTN_ANALYSIS_SCHEDULECHECKER_H

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleModel.h"

#include "mlir/Support/LLVM.h"

#include <string>
#include <vector>

namespace mlir::ringattn {

/// Checks `model` and emits an error at the offending op for every problem.
/// Succeeds if there is none.
LogicalResult checkSchedule(const ScheduleModel &model);

/// Work of a schedule per rank and step, and how it balances.
struct WorkReport {
  /// work[rank][step], in units (full pair 1, diagonal 1/2).
  std::vector<std::vector<double>> work;
  /// At every step every rank does the same work.
  bool balanced = true;
  /// Sum over steps of the busiest rank's work: the ring's time in units.
  double ringUnits = 0;
  /// Total work over cp: the ring's time if the work were spread evenly.
  double balancedUnits = 0;
  /// One line per rank ("rank 0 work per step: 2, 2, 2, 2") and a verdict.
  std::vector<std::string> lines;
};

WorkReport reportWork(const ScheduleModel &model);

} // namespace mlir::ringattn

#endif // RINGATTN_DIALECT_RINGATTN_ANALYSIS_SCHEDULECHECKER_H
