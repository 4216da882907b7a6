//===- LayoutTest.cpp - zigzag and contiguous layout math ------------------===//

#include "ringattn/Schedule/Layout.h"

#include "gtest/gtest.h"

#include <numeric>
#include <set>

using namespace mlir::ringattn;

namespace {

AttentionConfig makeConfig(int64_t cp, int64_t seq, Layout layout,
                           bool causal = true) {
  AttentionConfig config;
  config.cp = cp;
  config.seq = seq;
  config.layout = layout;
  config.causal = causal;
  return config;
}

TEST(Layout, ZigzagChunkMapOfFourRanks) {
  AttentionConfig config = makeConfig(4, 32768, Layout::zigzag);
  EXPECT_EQ(numChunks(config), 8);
  EXPECT_EQ(chunkLength(config), 4096);
  EXPECT_EQ(localLength(config), 8192);
  // Chunk -> rank: 0 1 2 3 3 2 1 0.
  std::vector<int64_t> owners;
  for (int64_t chunk = 0; chunk < 8; ++chunk)
    owners.push_back(rankOfChunk(config, chunk));
  EXPECT_EQ(owners, (std::vector<int64_t>{0, 1, 2, 3, 3, 2, 1, 0}));
  EXPECT_EQ(chunksOfRank(config, 0)[0], 0);
  EXPECT_EQ(chunksOfRank(config, 0)[1], 7);
  EXPECT_EQ(chunksOfRank(config, 3)[0], 3);
  EXPECT_EQ(chunksOfRank(config, 3)[1], 4);
  EXPECT_EQ(localIndexOfChunk(config, 7), 1);
  EXPECT_EQ(localIndexOfChunk(config, 2), 0);
}

TEST(Layout, ContiguousChunkMap) {
  AttentionConfig config = makeConfig(3, 300, Layout::contiguous);
  EXPECT_EQ(numChunks(config), 3);
  EXPECT_EQ(chunkLength(config), 100);
  for (int64_t rank = 0; rank < 3; ++rank) {
    ASSERT_EQ(chunksOfRank(config, rank).size(), 1u);
    EXPECT_EQ(chunksOfRank(config, rank)[0], rank);
    EXPECT_EQ(rankOfChunk(config, rank), rank);
  }
}

TEST(Layout, PositionIdsPartitionTheSequence) {
  for (Layout layout : {Layout::zigzag, Layout::contiguous}) {
    for (int64_t cp : {1, 2, 3, 4, 8}) {
      AttentionConfig config = makeConfig(cp, 2 * cp * 5, layout);
      std::set<int64_t> seen;
      for (int64_t rank = 0; rank < cp; ++rank) {
        std::vector<int64_t> ids = positionIds(config, rank);
        ASSERT_EQ(static_cast<int64_t>(ids.size()), localLength(config));
        // Front chunk, then back chunk, each ascending.
        EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
        seen.insert(ids.begin(), ids.end());
      }
      EXPECT_EQ(static_cast<int64_t>(seen.size()), config.seq);
      EXPECT_EQ(*seen.begin(), 0);
      EXPECT_EQ(*seen.rbegin(), config.seq - 1);
    }
  }
}

TEST(Layout, ZigzagRankTwoOfFourHoldsTokens) {
  AttentionConfig config = makeConfig(4, 16, Layout::zigzag);
  EXPECT_EQ(positionIds(config, 2), (std::vector<int64_t>{4, 5, 10, 11}));
}

TEST(Layout, KVSourceRankWalksBackwards) {
  AttentionConfig config = makeConfig(4, 64, Layout::zigzag);
  EXPECT_EQ(kvSourceRank(config, 0, 0), 0);
  EXPECT_EQ(kvSourceRank(config, 0, 1), 3);
  EXPECT_EQ(kvSourceRank(config, 2, 3), 3);
  EXPECT_EQ(kvSourceRank(config, 3, 2), 1);
}

TEST(Layout, PairClassification) {
  AttentionConfig causal = makeConfig(2, 8, Layout::zigzag);
  EXPECT_EQ(classifyPair(causal, 3, 0), MaskKind::full);
  EXPECT_EQ(classifyPair(causal, 2, 2), MaskKind::diagonal);
  EXPECT_EQ(classifyPair(causal, 0, 3), MaskKind::hidden);
  AttentionConfig full = makeConfig(2, 8, Layout::zigzag, /*causal=*/false);
  EXPECT_EQ(classifyPair(full, 0, 3), MaskKind::full);
  EXPECT_EQ(classifyPair(full, 2, 2), MaskKind::full);
  EXPECT_EQ(pairWork(MaskKind::full), 1.0);
  EXPECT_EQ(pairWork(MaskKind::diagonal), 0.5);
  EXPECT_EQ(pairWork(MaskKind::hidden), 0.0);
}

TEST(Layout, VisiblePairsCoverTheCausalTriangle) {
  AttentionConfig config = makeConfig(4, 64, Layout::zigzag);
  double work = 0;
  for (const ChunkPair &pair : visiblePairs(config)) {
    EXPECT_GE(pair.q, pair.kv);
    work += pairWork(pair.mask);
  }
  // 8 chunks: 8 diagonal halves and 28 full pairs = 32 units, 2 per rank-step.
  EXPECT_EQ(work, 32.0);
  EXPECT_EQ(visiblePairs(makeConfig(4, 64, Layout::zigzag, false)).size(), 64u);
}

TEST(Layout, ShardBytes) {
  AttentionConfig config = makeConfig(4, 32768, Layout::zigzag);
  // K and V: 2 * 8192 tokens * 4 heads * 128 * 2 bytes.
  EXPECT_EQ(kvShardBytes(config), 2 * 8192 * 4 * 128 * 2);
  EXPECT_EQ(dkvShardBytes(config), 2 * 8192 * 4 * 128 * 4);
}

TEST(Config, ValidateNamesTheFieldAndRule) {
  AttentionConfig config = makeConfig(4, 32768, Layout::zigzag);
  EXPECT_FALSE(config.validate());
  config.seq = 1004;
  auto violation = config.validate();
  ASSERT_TRUE(violation);
  EXPECT_EQ(violation->field, "seq");
  EXPECT_NE(violation->rule.find("2*cp = 8"), std::string::npos);
  config = makeConfig(3, 300, Layout::contiguous);
  EXPECT_FALSE(config.validate());
  config.seq = 301;
  EXPECT_EQ(config.validate()->field, "seq");
  config = makeConfig(2, 64, Layout::zigzag);
  config.kvHeads = 5;
  EXPECT_EQ(config.validate()->field, "kv_heads");
  config.kvHeads = 0;
  EXPECT_EQ(config.validate()->field, "kv_heads");
  config = makeConfig(0, 64, Layout::zigzag);
  EXPECT_EQ(config.validate()->field, "cp");
  config = makeConfig(2, 64, Layout::zigzag);
  config.headDim = 0;
  EXPECT_EQ(config.validate()->field, "head_dim");
  config = makeConfig(2, 64, Layout::zigzag);
  config.heads = -1;
  EXPECT_EQ(config.validate()->field, "heads");
}

} // namespace
