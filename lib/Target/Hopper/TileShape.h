//===- TileShape.h - sizes every Hopper attention kernel derives -*- C++ -*-===//
//
// The sizes the forward, backward and dQ kernels derive alike from a
// configuration and their tile shape: chunk and rank lengths, heads, the
// 64-column TMA boxes of a row, tiles per chunk and their bytes, the softmax
// scale in log2 units; and the work list of the kernels that run a CTA per
// query tile (forward, dQ). Each kernel's geometry adds its shared-memory map.
// Private to lib/Target/Hopper.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_LIB_TARGET_HOPPER_TILESHAPE_H
#define RINGATTN_LIB_TARGET_HOPPER_TILESHAPE_H

#include "ringattn/Schedule/Layout.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace mlir::ringattn::hopper {

struct TileShape {
  /// bm query rows and bn K/V rows a tile; `stages` buffers of the streamed
  /// operand.
  TileShape(const AttentionConfig &c, int64_t bm, int64_t bn, int64_t stages)
      : chunk(chunkLength(c)), localLen(localLength(c)), heads(c.heads),
        kvHeads(c.kvHeads), group(c.groupSize()), headDim(c.headDim),
        boxes(c.headDim / 64), bm(bm), bn(bn), stages(stages),
        qTiles((chunk + bm - 1) / bm), kvTiles((chunk + bn - 1) / bn),
        qTileBytes(bm * c.headDim * 2), kvTileBytes(bn * c.headDim * 2),
        scaleLog2(M_LOG2E / std::sqrt(static_cast<double>(c.headDim))) {}

  /// K/V tiles of a chunk that query tile `qTile` visits: all of them, or on
  /// the diagonal those up to its last row.
  int64_t kvTilesFor(bool diagonal, int64_t qTile) const {
    if (!diagonal)
      return kvTiles;
    return (std::min(qTile * bm + bm, chunk) - 1) / bn + 1;
  }

  /// Query heads per L2 section of a kernel whose CTAs run heads along the
  /// grid's x and work items along y. The block scheduler issues x fastest,
  /// so a wave spans every head and reads every K/V head's rows: at 16k
  /// tokens MHA's 32 K/V heads are 256 MB, five times the L2, and the
  /// forward ran 12% behind cuDNN, DRAM-bound (H200, 2026-12-02). Sections
  /// of whole K/V heads whose K and V (localLen rows each) fit
  /// kL2KvBudgetBytes run one after the other instead; one section, the
  /// plain order, where everything fits.
  int64_t headSection() const {
    constexpr int64_t kL2KvBudgetBytes = 32ll << 20;
    int64_t perKvHead = 2 * localLen * headDim * 2;
    int64_t fit = std::max<int64_t>(1, kL2KvBudgetBytes / perKvHead);
    int64_t kvSection = 1;
    for (int64_t d = 1; d <= kvHeads; ++d)
      if (kvHeads % d == 0 && d <= fit)
        kvSection = d;
    return kvSection * group;
  }

  int64_t chunk, localLen, heads, kvHeads, group, headDim, boxes;
  int64_t bm, bn, stages, qTiles, kvTiles, qTileBytes, kvTileBytes;
  double scaleLog2;
};

/// A K/V chunk a query chunk visits at a step, and whether it is the
/// diagonal (masked) one.
struct KvSegment {
  int64_t kvChunk;
  bool diagonal;
};

/// The K/V segments of query chunk `qChunk` among `pairs`: in the pairs'
/// order, or (`diagonalLast`) the full ones first and the diagonal one last,
/// so that the masked tiles end a CTA's walk.
inline std::vector<KvSegment> kvSegmentsOf(llvm::ArrayRef<LocalPair> pairs,
                                           int64_t qChunk, bool diagonalLast) {
  std::vector<KvSegment> segments;
  for (const LocalPair &pair : pairs)
    if (pair.q == qChunk)
      segments.push_back({pair.kv, pair.mask == MaskKind::diagonal});
  if (diagonalLast)
    std::stable_partition(segments.begin(), segments.end(),
                          [](const KvSegment &s) { return !s.diagonal; });
  return segments;
}

/// The query tiles of a kernel that runs a CTA per query tile, the most K/V
/// tiles first: every tile of each local query chunk that has segments
/// (`segmentsOf(c)`), or that `keep(c)` although it has none.
inline std::vector<WorkItem>
queryTileItems(const TileShape &g, int64_t qChunks,
               llvm::function_ref<std::vector<KvSegment>(int64_t)> segmentsOf,
               llvm::function_ref<bool(int64_t)> keep) {
  std::vector<WorkItem> items;
  for (int64_t c = 0; c < qChunks; ++c) {
    std::vector<KvSegment> segments = segmentsOf(c);
    if (segments.empty() && !keep(c))
      continue;
    for (int64_t t = 0; t < g.qTiles; ++t) {
      int64_t tiles = 0;
      for (const KvSegment &s : segments)
        tiles += g.kvTilesFor(s.diagonal, t);
      items.push_back({c, t, tiles});
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const WorkItem &a, const WorkItem &b) {
                     return a.kvTiles > b.kvTiles;
                   });
  return items;
}

} // namespace mlir::ringattn::hopper

#endif // RINGATTN_LIB_TARGET_HOPPER_TILESHAPE_H
