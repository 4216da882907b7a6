//===- RingExecutor.h - executing a schedule on all ranks -------*- C++ -*-===//
//
// The execution model of ringattn schedules, shared by the symbolic verifier
// and the fp64 CPU simulator. All ranks run in one process, round-robin, each
// until it blocks. The model is deliberately adversarial, so that a schedule
// that is only right by luck of timing fails:
//  - A receive poisons its slot when it is posted; the data lands in the slot
//    only when the receiver waits for it.
//  - A send reads its source as late as it may: when the transfer is forced
//    to complete (a wait on either side, or a later group that needs it), so
//    a source modified after the post shows up as wrong data.
//  - Consecutive posts of a rank form one NCCL group. Groups of a rank run in
//    order on its one communication stream: a transfer completes only once
//    every earlier group on both of its ranks has completed.
//  - Sends and receives between two ranks match in posting order (NCCL's
//    rule); a K/V send matched with a dK/dV receive is an error.
// Protocol errors (deadlock, mismatched or never-matched transfers,
// transfers never waited or waited twice, a buffer overwritten while a send
// from it is not yet waited) are returned as issues; what the
// computations do with buffer contents is the semantics' business.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_RINGATTN_ANALYSIS_RINGEXECUTOR_H
#define RINGATTN_DIALECT_RINGATTN_ANALYSIS_RINGEXECUTOR_H

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleModel.h"

#include <string>
#include <vector>

namespace mlir::ringattn {

/// What buffers hold and what computations do: symbolic labels for the
/// verifier, fp64 tensors for the simulator.
class ExecutionSemantics {
public:
  virtual ~ExecutionSemantics();
  /// A receive into `buffer` of `rank` was posted: its contents are undefined.
  virtual void poison(int64_t rank, BufferId buffer) = 0;
  /// A transfer completes: read `buffer` of `rank` (the send's source) into
  /// message `message`.
  virtual void capture(unsigned message, int64_t rank, BufferId buffer) = 0;
  /// The receiver waits: write message `message` into `buffer` of `rank`.
  virtual void deliver(unsigned message, int64_t rank, BufferId buffer) = 0;
  /// Runs a compute, combine, accumulate or finalize instruction.
  virtual void run(int64_t rank, const Instr &instr) = 0;
};

/// A protocol error found while executing.
struct ExecutionIssue {
  int64_t rank;
  /// The instruction at fault (a post or a wait), or null.
  const Instr *instr;
  std::string message;
};

struct ExecutionResult {
  /// Protocol errors; none for a schedule that runs cleanly.
  std::vector<ExecutionIssue> issues;
  /// Every rank ran to its end (false after a deadlock).
  bool completed;
};

/// Executes `model` under `semantics`.
ExecutionResult executeSchedule(const ScheduleModel &model,
                                ExecutionSemantics &semantics);

} // namespace mlir::ringattn

#endif // RINGATTN_DIALECT_RINGATTN_ANALYSIS_RINGEXECUTOR_H
