//===- ScheduleModel.h - a schedule as per-rank instruction lists -*- C++ -*-===//
//
// ScheduleModel is a flat, read-only view of a ringattn.schedule: for every rank
// the list of its instructions in program order, with buffers, peers, chunk
// pairs and transfer ids resolved. The symbolic checker, the CPU simulator and
// ringattn-gen's manifest all read schedules through it.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_RINGATTN_ANALYSIS_SCHEDULEMODEL_H
#define RINGATTN_DIALECT_RINGATTN_ANALYSIS_SCHEDULEMODEL_H

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Schedule/Layout.h"

#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::ringattn {

/// A buffer slot of one rank.
struct BufferId {
  BufferKind kind = BufferKind::kv_local;
  unsigned slot = 0;

  static BufferId of(BufferAttr attr) { return {attr.getKind(), attr.getSlot()}; }
  bool holdsKV() const {
    return kind == BufferKind::kv_local || kind == BufferKind::kv_ring;
  }
  bool operator==(const BufferId &o) const {
    return kind == o.kind && slot == o.slot;
  }
  bool operator!=(const BufferId &o) const { return !(*this == o); }
  bool operator<(const BufferId &o) const {
    return kind != o.kind ? kind < o.kind : slot < o.slot;
  }
  /// E.g. "kv_ring[1]".
  std::string str() const;
};

enum class InstrKind { Send, Recv, Wait, Compute, Combine, Accumulate, Finalize };

/// One op of a rank program.
struct Instr {
  InstrKind kind;
  Operation *op = nullptr;
  /// Compute and combine: the ring step.
  int64_t step = -1;
  /// Send and recv: the hop.
  int64_t hop = -1;
  /// Send/recv: the buffer. Compute: the K/V buffer read. Accumulate: the
  /// source (partial). Finalize (backward): the dK/dV accumulator.
  BufferId buffer;
  /// Compute (backward): the dK/dV output. Accumulate: the destination.
  std::optional<BufferId> buffer2;
  /// Send/recv: the peer rank.
  int64_t peer = -1;
  /// Send/recv: this transfer's id within its rank (index in `transfers`).
  unsigned transfer = ~0u;
  /// Wait: the transfer ids it completes.
  llvm::SmallVector<unsigned, 4> waits;
  /// Compute: its chunk pairs, in order, and their ops.
  llvm::SmallVector<ChunkPair, 4> pairs;
  llvm::SmallVector<Operation *, 4> pairOps;
  /// Compute (forward): the combine is fused into the epilogue.
  bool fusedCombine = false;
  /// Compute: the kernel it launches (`launch @name`), once lowered, and the
  /// deterministic backward's dQ kernel (`launch_dq @name`).
  std::string kernel;
  std::string dqKernel;

  bool isPost() const { return kind == InstrKind::Send || kind == InstrKind::Recv; }
  /// A short description, e.g. "send kv_ring[0] to 1 (hop 2)".
  std::string str() const;
};

/// The program of one rank.
struct RankProgram {
  int64_t rank = 0;
  std::vector<Instr> instrs;
  /// Transfer id -> index of its post in `instrs`.
  std::vector<unsigned> transfers;
};

/// A whole schedule.
struct ScheduleModel {
  std::string name;
  Direction direction = Direction::forward;
  AttentionConfig config;
  /// The ringattn.schedule op.
  Operation *op = nullptr;
  std::vector<RankProgram> ranks;
};

/// Builds the model of a verified schedule op.
ScheduleModel buildScheduleModel(ScheduleOp op);

/// Work (full pair 1, diagonal 1/2) of every rank at every step:
/// result[rank][step].
std::vector<std::vector<double>> workPerRankAndStep(const ScheduleModel &model);

} // namespace mlir::ringattn

#endif // RINGATTN_DIALECT_RINGATTN_ANALYSIS_SCHEDULEMODEL_H
