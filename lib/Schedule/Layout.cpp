//===- Layout.cpp - zigzag and contiguous layouts --------------------------===//
//
// The chunk maps of the two layouts and the causal classification of chunk
// pairs. Everything the schedule passes, the simulator and the generator know
// about where tokens live comes from here.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Schedule/Layout.h"

#include <cassert>

using namespace mlir::ringattn;

int64_t mlir::ringattn::numChunks(const AttentionConfig &config) {
  return config.layout == Layout::zigzag ? 2 * config.cp : config.cp;
}

int64_t mlir::ringattn::chunkLength(const AttentionConfig &config) {
  return config.seq / numChunks(config);
}

int64_t mlir::ringattn::localLength(const AttentionConfig &config) {
  return config.seq / config.cp;
}

llvm::SmallVector<int64_t, 2>
mlir::ringattn::chunksOfRank(const AttentionConfig &config, int64_t rank) {
  assert(rank >= 0 && rank < config.cp && "rank out of range");
  if (config.layout == Layout::zigzag)
    return {rank, 2 * config.cp - 1 - rank};
  return {rank};
}

int64_t mlir::ringattn::rankOfChunk(const AttentionConfig &config,
                                    int64_t chunk) {
  assert(chunk >= 0 && chunk < numChunks(config) && "chunk out of range");
  if (config.layout == Layout::zigzag)
    return chunk < config.cp ? chunk : 2 * config.cp - 1 - chunk;
  return chunk;
}

int64_t mlir::ringattn::localIndexOfChunk(const AttentionConfig &config,
                                          int64_t chunk) {
  if (config.layout == Layout::zigzag)
    return chunk < config.cp ? 0 : 1;
  return 0;
}

int64_t mlir::ringattn::kvSourceRank(const AttentionConfig &config,
                                     int64_t rank, int64_t step) {
  int64_t n = config.cp;
  return ((rank - step) % n + n) % n;
}

MaskKind mlir::ringattn::classifyPair(const AttentionConfig &config, int64_t q,
                                      int64_t kv) {
  if (!config.causal || q > kv)
    return MaskKind::full;
  return q == kv ? MaskKind::diagonal : MaskKind::hidden;
}

double mlir::ringattn::pairWork(MaskKind mask) {
  switch (mask) {
  case MaskKind::full:
    return 1.0;
  case MaskKind::diagonal:
    return 0.5;
  case MaskKind::hidden:
    return 0.0;
  }
  llvm_unreachable("unknown mask kind");
}

std::vector<int64_t> mlir::ringattn::positionIds(const AttentionConfig &config,
                                                 int64_t rank) {
  std::vector<int64_t> ids;
  int64_t len = chunkLength(config);
  ids.reserve(localLength(config));
  for (int64_t chunk : chunksOfRank(config, rank))
    for (int64_t t = 0; t < len; ++t)
      ids.push_back(chunk * len + t);
  return ids;
}

int64_t mlir::ringattn::kvShardBytes(const AttentionConfig &config) {
  return 2 * localLength(config) * config.kvHeads * config.headDim *
         elementBytes(config.dtype);
}

int64_t mlir::ringattn::dkvShardBytes(const AttentionConfig &config) {
  return 2 * localLength(config) * config.kvHeads * config.headDim * 4;
}

std::vector<ChunkPair>
mlir::ringattn::visiblePairs(const AttentionConfig &config) {
  std::vector<ChunkPair> pairs;
  int64_t n = numChunks(config);
  for (int64_t q = 0; q < n; ++q)
    for (int64_t kv = 0; kv < n; ++kv)
      if (MaskKind mask = classifyPair(config, q, kv); mask != MaskKind::hidden)
        pairs.push_back({q, kv, mask});
  return pairs;
}
