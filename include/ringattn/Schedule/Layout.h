//===- Layout.h - how a sequence is split across the ring -------*- C++ -*-===//
//
// The zigzag and contiguous layouts, in one place. The global sequence is cut
// into chunks of equal length:
//   zigzag:     2*cp chunks; rank r holds chunk r (front) and 2*cp-1-r (back).
//   contiguous: cp chunks; rank r holds chunk r.
// A rank's local tokens are its chunks in order (front, then back). At ring
// step s rank r holds the K/V shard of rank (r - s) mod cp. A (q, kv) chunk
// pair is full (q > kv, or any pair without a causal mask), diagonal (q == kv)
// or hidden (q < kv under a causal mask). Work: full 1 unit, diagonal 1/2.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_SCHEDULE_LAYOUT_H
#define RINGATTN_SCHEDULE_LAYOUT_H

#include "ringattn/Schedule/Config.h"

#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace mlir::ringattn {

/// Number of chunks the global sequence is cut into.
int64_t numChunks(const AttentionConfig &config);

/// Tokens per chunk.
int64_t chunkLength(const AttentionConfig &config);

/// Tokens per rank.
int64_t localLength(const AttentionConfig &config);

/// The chunks rank `rank` holds, in local order (front first).
llvm::SmallVector<int64_t, 2> chunksOfRank(const AttentionConfig &config,
                                           int64_t rank);

/// The rank that holds `chunk`.
int64_t rankOfChunk(const AttentionConfig &config, int64_t chunk);

/// Position of `chunk` among its rank's chunks (0 = front, 1 = back).
int64_t localIndexOfChunk(const AttentionConfig &config, int64_t chunk);

/// The rank whose K/V shard rank `rank` holds at ring step `step`.
int64_t kvSourceRank(const AttentionConfig &config, int64_t rank,
                     int64_t step);

/// The mask kind of the (q, kv) chunk pair.
MaskKind classifyPair(const AttentionConfig &config, int64_t q, int64_t kv);

/// Work of a pair: full 1, diagonal 0.5, hidden 0.
double pairWork(MaskKind mask);

/// Global token index of each of rank `rank`'s local tokens (RoPE positions).
std::vector<int64_t> positionIds(const AttentionConfig &config, int64_t rank);

/// Bytes of one rank's K/V shard (K and V) for one sequence.
int64_t kvShardBytes(const AttentionConfig &config);

/// Bytes of one rank's fp32 dK/dV accumulator for one sequence.
int64_t dkvShardBytes(const AttentionConfig &config);

/// Every visible (q, kv) chunk pair of the whole attention: the pairs a
/// correct schedule computes exactly once.
struct ChunkPair {
  int64_t q;
  int64_t kv;
  MaskKind mask;
};
std::vector<ChunkPair> visiblePairs(const AttentionConfig &config);

} // namespace mlir::ringattn

#endif // RINGATTN_SCHEDULE_LAYOUT_H
