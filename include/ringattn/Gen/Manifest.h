//===- Manifest.h - the manifest.json of a generated package ----*- C++ -*-===//
//
// manifest.json describes what ringattn-gen generated, for people and for the
// tools that build on it (the runtime's host glue is generated from it). It is
// rendered from the forward and backward schedules as they stand after the
// schedule pipeline, read through ScheduleModel; nothing in it is derived from
// a second copy of the schedule logic. Byte sizes are per sequence: batch is a
// run-time argument.
//
// Schema (format "ringattn-manifest", version 3), top level:
//   format, version, generator, command
//   conventions       units and tensor layouts, in words
//   config            cp, seq, heads, kv_heads, head_dim, dtype, layout,
//                     causal, group_size, description
//   layout            kind, num_chunks, chunk_length, local_length,
//                     chunk_to_rank[chunk], ranks[{rank, chunks,
//                     position_ranges[{begin, end}]}] (end exclusive)
//   forward, backward {schedule (symbol name), steps, transfers, work, ranks}
//     transfers       kv: {hops, bytes_per_hop, bytes_sent_per_rank (the most
//                     any rank sends)}; backward also dkv: {...}
//     work            units, per_rank_and_step[rank][step], balanced,
//                     ring_units, balanced_units, report (lines)
//     ranks[rank]     steps[step]: {step, kv_buffer, kv_shard_of_rank,
//                     combine_fused (forward) | dkv_buffer (backward), work,
//                     pairs[{q, kv, mask}]}, null buffers where idle;
//                     program[op] in program order, by kind:
//                       send/recv {hop, peer, buffer, payload (kv | dkv),
//                                  bytes, transfer (id), nccl_group}
//                       wait {transfers[id]}
//                       compute {step, kv, dkv (backward) | combine_fused}
//                       combine {step}
//                       accumulate {src, dst}
//                       finalize {dkv (backward)}
//                     A buffer is {kind, slot}, e.g. {"kv_ring", 1}.
//   buffers           kv_shard_bytes, dkv_shard_bytes, per_rank[{rank,
//                     kv_ring, dkv_ring, dkv_partial ({slots, bytes} each),
//                     o_accumulator, lse_accumulator, dq_accumulator,
//                     total_bytes}]
//   files             the package's files besides manifest.json
//   kernels           [{name, role (forward | backward | backward_dq |
//                     preprocess | accumulate | finalize), epilogue, pairs[{q,
//                     kv, mask}] (local chunk numbering), finalize, zero,
//                     deterministic, reads_accumulators (forward: merges
//                     into the accumulators; backward: adds dK and dV per
//                     query head into the zeroed partial, where query heads
//                     share a K/V head), writes_final, q_len,
//                     kv_len, q_rows, kv_rows, stages, grid (per sequence:
//                     tiled kernels {heads or kv_heads, work items, 1}, the
//                     heaviest items first; elementwise {blocks, 1, 1}; the
//                     batch multiplies the last used dimension; a backward
//                     kernel that reads accumulators runs heads / kv_heads
//                     CTAs per K/V head and work item), work_items
//                     (CTAs per head and sequence), head_section (tiled
//                     kernels: query heads whose CTAs run together, the
//                     L2's working set; the forward's and dQ kernel's grid
//                     runs its heads section by section), block,
//                     shared_memory_bytes, registers, spill_bytes,
//                     stack_frame_bytes, ptx, cubin}]; a compute op and its
//                     step name the kernel it launches ("kernel", and
//                     "dq_kernel" in a deterministic backward); empty with
//                     --no-kernels
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_GEN_MANIFEST_H
#define RINGATTN_GEN_MANIFEST_H

#include "ringattn/Dialect/RingAttn/Analysis/ScheduleModel.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace mlir::ringattn {

/// One GPU kernel of a generated package, as the kernel stage reports it:
/// launch shape (grid per sequence; batch multiplies it), resources from
/// ptxas, and its files relative to the package directory.
struct KernelEntry {
  /// A chunk pair in the rank's local numbering (0 front, 1 back).
  struct Pair {
    int64_t q;
    int64_t kv;
    std::string mask;
  };
  std::string name;
  /// forward, backward, backward_dq, preprocess, accumulate or finalize
  /// (the runtime's ringattn_kernel_role).
  std::string role;
  /// Forward: init, merge, init_final or merge_final.
  std::string epilogue;
  std::vector<Pair> pairs;
  /// Forward: query chunks only finalized. Backward: K/V chunks zeroed.
  std::vector<int64_t> finalize;
  std::vector<int64_t> zero;
  bool deterministic = false;
  bool readsAccumulators = false;
  bool writesFinal = false;
  int64_t qLen = 0;
  int64_t kvLen = 0;
  /// Rows of the Q (dO, LSE, Delta) and K/V tiles the kernel loads.
  int64_t qRows = 0;
  int64_t kvRows = 0;
  int64_t stages = 0;
  /// Query heads whose CTAs run together (tiled kernels; 0 otherwise).
  int64_t headSection = 0;
  std::array<int64_t, 3> grid = {1, 1, 1};
  std::array<int64_t, 3> block = {1, 1, 1};
  /// Whether the kernel computes chunk-pair tiles (heads on the grid's x,
  /// work items on y) rather than an elementwise pass (blocks on x).
  bool tiled() const {
    return role == "forward" || role == "backward" || role == "backward_dq";
  }
  /// CTAs per head and sequence (the runtime's ringattn_kernel.grid_x).
  int64_t workItems() const { return tiled() ? grid[1] : grid[0]; }
  int64_t sharedMemoryBytes = 0;
  int64_t registers = 0;
  int64_t spillBytes = 0;
  int64_t stackFrameBytes = 0;
  std::string ptxFile;
  std::string cubinFile;
};

/// Everything manifest.json is rendered from.
struct ManifestInputs {
  /// The schedules after the pipeline (same configuration).
  const ScheduleModel *forward = nullptr;
  const ScheduleModel *backward = nullptr;
  /// The command line that generated the package, for the record.
  std::string command;
  /// The package's files besides manifest.json, relative to its directory.
  std::vector<std::string> files;
  /// The kernel stage appends its kernels here.
  std::vector<KernelEntry> kernels;
};

/// Renders manifest.json (pretty-printed, ending in a newline).
std::string renderManifest(const ManifestInputs &inputs);

/// Whether every byte count in the manifest of `config` fits in int64_t. The
/// largest, a rank's total buffer bytes, stays below
/// 64 * (seq / cp) * heads * head_dim.
bool manifestSizesFit(const AttentionConfig &config);

} // namespace mlir::ringattn

#endif // RINGATTN_GEN_MANIFEST_H
