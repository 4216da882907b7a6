//===- ForwardKernel.h - the Hopper forward kernel builder ------*- C++ -*-===//
//
// Builds the fused forward kernel of one ring step for Hopper (sm_90a) as LLVM
// + NVVM ops: a producer warpgroup loads Q once and K/V tiles into a ring of
// shared-memory stages with TMA, completing on mbarriers; consumer
// warpgroups each own 64 query rows, compute S = Q K^T with wgmma from shared
// memory, run the online softmax in registers (scale folded into exp2), and
// accumulate O += P V with wgmma taking P from registers, pipelined by one
// tile (tile j+1's S and tile j's P V in flight while tile j+1's softmax
// runs, at head_dim 128; at 64 ptxas hoists the P V wait above the softmax
// and the pipeline only overlaps S; three K/V stages). At head_dim 128 the
// online softmax rescales O lazily: a warp keeps its running max until a row's
// grows by a factor over 2^8, so most tiles skip the rescale. One online softmax
// spans all chunk pairs of the step; the epilogue merges the step's partial
// into the fp32 accumulators (or writes the final O and LSE).
//
// Kernel parameters, in order: tmaQ, tmaK, tmaV (CUtensorMap, 128 bytes, by
// value), oAcc (f32 [B, S_local, H, D]), lseAcc (f32 [B, H, S_local]), out
// ([B, S_local, H, D] in the input dtype), lse (f32 [B, H, S_local]).
// Tensor maps are 4-D {D, heads, tokens, batch} with a box of
// {64, 1, rows, 1} and 128-byte swizzling. Grid: (work items, H, B).
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_TARGET_HOPPER_FORWARDKERNEL_H
#define RINGATTN_TARGET_HOPPER_FORWARDKERNEL_H

#include "ringattn/Dialect/Kernel/IR/Kernel.h"
#include "ringattn/Schedule/Config.h"

#include "mlir/IR/Builders.h"

#include <string>
#include <vector>

namespace mlir::ringattn::hopper {

/// A chunk pair in a rank's local numbering (0 front, 1 back).
struct LocalPair {
  int64_t q;
  int64_t kv;
  MaskKind mask;
};

/// What one forward kernel computes and how it is tiled.
struct ForwardKernelSpec {
  std::string name;
  AttentionConfig config;
  std::vector<LocalPair> pairs;
  std::vector<int64_t> finalizeOnly;
  rakernel::Epilogue epilogue = rakernel::Epilogue::init_final;
  int64_t blockM = 128;
  int64_t blockN = 128;
  int64_t stages = 2;
  int64_t consumers = 2;

  static ForwardKernelSpec fromOp(rakernel::ForwardOp op);

  bool readsAccumulators() const {
    return epilogue == rakernel::Epilogue::merge ||
           epilogue == rakernel::Epilogue::merge_final;
  }
  bool writesFinal() const {
    return epilogue == rakernel::Epilogue::init_final ||
           epilogue == rakernel::Epilogue::merge_final;
  }
};

/// A query tile a CTA handles: local q chunk and tile index in the chunk.
struct WorkItem {
  int64_t qChunk;
  int64_t qTile;
  /// K/V tiles it visits.
  int64_t kvTiles;
};

/// The CTAs of a launch in order (x index): the most K/V tiles first.
std::vector<WorkItem> forwardWorkItems(const ForwardKernelSpec &spec);

/// The dynamic shared memory an sm_90 CTA can opt into (227 KB).
constexpr int64_t kMaxSharedBytes = 227 * 1024;

/// How a forward kernel is launched.
struct ForwardLaunch {
  int64_t gridX;
  int64_t blockThreads;
  int64_t sharedBytes;
  /// Query heads whose CTAs run together (the L2's working set): an L2
  /// section of the forward and dQ kernels, one query head at a time in
  /// the reducing backward, every head in the deterministic one.
  int64_t headSection;
};
ForwardLaunch forwardLaunch(const ForwardKernelSpec &spec);

/// Checks what the Hopper kernels support (head_dim 64 or 128, bf16 or
/// fp16; any sequence length the layout takes): the configuration field that
/// breaks it and why, or std::nullopt.
std::optional<AttentionConfig::Violation>
unsupported(const AttentionConfig &config);

/// Builds the kernel as an llvm.func (plus its globals) at the builder's
/// insertion point, which must be in a gpu.module.
void buildForwardKernel(OpBuilder &builder, Location loc,
                        const ForwardKernelSpec &spec);

} // namespace mlir::ringattn::hopper

#endif // RINGATTN_TARGET_HOPPER_FORWARDKERNEL_H
