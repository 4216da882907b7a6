//===- BackwardKernel.h - the Hopper backward kernel builders ---*- C++ -*-===//
//
// The backward of one ring step, for Hopper (sm_90a), as LLVM + NVVM ops.
//
// The main kernel: one CTA per (K/V tile of 128 rows, query head, batch),
// issued query head by query head (deterministic: per K/V head, walking the
// group's query heads). A producer warpgroup loads the K and V tile once
// and, per query tile of 64 rows, Q, dO, LSE and Delta = rowsum(dO * O)
// with TMA. Two consumer warpgroups each own 64 K/V rows and keep dK and dV
// in registers across all query tiles:
//   S^T = K Q^T, dP^T = V dO^T            (wgmma, operands in shared memory)
//   P^T = 2^(S^T * scale * log2e - LSE * log2e), masked
//   dV += P^T dO,  dS^T = P^T * (dP^T - Delta),  dK += dS^T Q
//                                         (wgmma, P^T and dS^T in registers)
// and, unless deterministic, dQ = dS K from dS^T in shared memory, staged in
// fp32 and added to the rank's dQ accumulator by a writer warp's TMA
// reductions (per-element atomics for a tile past its chunk's end). dK and
// dV (dK scaled) of the query head are added to the step's fp32 partials
// (zeroed by the launch); the deterministic kernel overwrites them. K/V
// chunks without a pair get zeros. At head_dim 64 (three Q/dO stages) the
// consumers are software-pipelined by a query tile: the next tile's S^T and
// dP^T are issued ahead of this tile's dQ, dV and dK, and its P^T and dS^T
// computed while those run.
//
// The dQ kernel (deterministic mode): one CTA per (query tile of 128 rows,
// query head, batch) walks the step's K/V tiles, recomputes P and dS, and
// adds dQ = dS K to the accumulator with plain stores (no float atomics).
//
// Elementwise kernels: preprocess (Delta, and zero the dQ accumulator),
// accumulate (dst += src over a dK/dV buffer), finalize (dQ * scale, dK, dV
// to the input dtype).
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_TARGET_HOPPER_BACKWARDKERNEL_H
#define RINGATTN_TARGET_HOPPER_BACKWARDKERNEL_H

#include "ringattn/Target/Hopper/ForwardKernel.h"

namespace mlir::ringattn::hopper {

/// What one backward step kernel computes.
struct BackwardKernelSpec {
  std::string name;
  AttentionConfig config;
  std::vector<LocalPair> pairs;
  /// K/V chunks (local) no pair reads: their dK/dV partial is zero.
  std::vector<int64_t> zeroChunks;
  /// dQ from the dQ kernel instead of atomics in this one.
  bool deterministic = false;
  int64_t blockM = 64;
  int64_t blockN = 128;
  int64_t stages = 2;

  /// Whether the epilogue adds its query head's dK and dV into the step's
  /// zeroed fp32 partials (the reducing kernel with query heads sharing a
  /// K/V head); else one CTA owns each partial row and stores it.
  bool addsPartials() const {
    return !deterministic && config.groupSize() > 1;
  }

  static BackwardKernelSpec fromOp(rakernel::BackwardOp op);
};

/// The deterministic dQ kernel of a backward step.
struct DqKernelSpec {
  std::string name;
  AttentionConfig config;
  std::vector<LocalPair> pairs;
  int64_t blockM = 128;
  int64_t blockN = 64;
  int64_t stages = 2;

  static DqKernelSpec fromOp(rakernel::BackwardDqOp op);
};

/// A CTA of the main kernel: K/V chunk and tile, and its query-tile visits.
struct KvWorkItem {
  int64_t kvChunk;
  int64_t kvTile;
  int64_t qTiles;
};
std::vector<KvWorkItem> backwardWorkItems(const BackwardKernelSpec &spec);
ForwardLaunch backwardLaunch(const BackwardKernelSpec &spec);
ForwardLaunch dqLaunch(const DqKernelSpec &spec);

/// Builds the kernels at the builder's insertion point (in a gpu.module).
void buildBackwardKernel(OpBuilder &builder, Location loc,
                         const BackwardKernelSpec &spec);
void buildDqKernel(OpBuilder &builder, Location loc, const DqKernelSpec &spec);

/// The elementwise kernels of a configuration.
enum class ElementwiseKind { preprocess, accumulate, finalize };
struct ElementwiseLaunch {
  int64_t gridX;
  int64_t blockThreads;
};
ElementwiseLaunch elementwiseLaunch(const AttentionConfig &config,
                                    ElementwiseKind kind);
void buildElementwiseKernel(OpBuilder &builder, Location loc,
                            const std::string &name,
                            const AttentionConfig &config, ElementwiseKind kind);

} // namespace mlir::ringattn::hopper

#endif // RINGATTN_TARGET_HOPPER_BACKWARDKERNEL_H
