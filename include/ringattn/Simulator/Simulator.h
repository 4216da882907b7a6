//===- Simulator.h - the fp64 CPU simulator of ring schedules ---*- C++ -*-===//
//
// The oracle of the schedule level: executes a forward or backward
// ringattn.schedule as it stands after all passes (double buffers and waits
// included) for all cp ranks in one process, under the adversarial ring
// execution model of RingExecutor.h, on random fp64 inputs. Buffers hold
// numbers; a slot is NaN from the post of its receive until its wait, and
// ring slots start NaN, so a race or a missing hop shows up as NaN or a wrong
// number. The ranks' results, gathered back to global positions, are compared
// with attention computed densely in fp64 (DenseReference.h): out and LSE for
// a forward schedule, dQ, dK and dV for a backward one. A backward schedule
// takes the dense reference's O and LSE as its inputs, so each schedule is
// tested on its own.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_SIMULATOR_SIMULATOR_H
#define RINGATTN_SIMULATOR_SIMULATOR_H

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleModel.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ringattn {

/// How to simulate a schedule.
struct SimulationOptions {
  /// Sequences per run (a run-time argument of the real kernels).
  int64_t batch = 1;
  /// Seed of the standard-normal Q, K, V and dO.
  uint64_t seed = 0;
  /// The largest relative error that passes.
  double tolerance = 1e-10;
};

/// One output tensor of the simulated ranks against the dense reference.
struct TensorComparison {
  /// "out", "lse", "dq", "dk" or "dv".
  std::string name;
  /// max |x - ref| / max |ref| over the tensor; NaN if any element is NaN.
  double error = 0;
  /// error <= the tolerance (false for NaN).
  bool passed = true;
  /// Where the largest error (or the first NaN) is, e.g. "batch 0, token 37
  /// (chunk 2, rank 1), head 3"; empty when the tensors agree exactly.
  std::string worst;
};

/// The outcome of simulating one schedule.
struct SimulationReport {
  std::string schedule;
  Direction direction = Direction::forward;
  AttentionConfig config;
  SimulationOptions options;
  /// Forward: out, lse. Backward: dq, dk, dv.
  std::vector<TensorComparison> tensors;
  /// Protocol errors of the execution (deadlock, unmatched or unwaited
  /// transfers, ...) and ranks that never finalize, as "rank R: ...".
  std::vector<std::string> issues;
  /// No issue and every tensor within the tolerance.
  bool passed = false;
};

/// Simulates `model` on random inputs drawn from `options.seed`.
SimulationReport simulate(const ScheduleModel &model,
                          const SimulationOptions &options);

/// Simulates a (verified) schedule op.
SimulationReport simulate(ScheduleOp schedule,
                          const SimulationOptions &options);

} // namespace mlir::ringattn

#endif // RINGATTN_SIMULATOR_SIMULATOR_H
