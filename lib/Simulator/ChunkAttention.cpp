//===- ChunkAttention.cpp - the simulator's per-pair kernels --------------===//
//
// The fp64 kernels behind `ringattn.compute`, `ringattn.combine` and the
// backward pairs, written for clarity rather than speed: one query row at a
// time, keys of the pair only, masks from the pair's kind. NaN in a buffer
// (a poisoned slot) always reaches the results; -inf LSE never produces NaN.
//
//===----------------------------------------------------------------------===//

#include "ChunkAttention.h"

#include "ringattn/Simulator/DenseReference.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace mlir::ringattn;
using namespace mlir::ringattn::sim;

static constexpr double kInf = std::numeric_limits<double>::infinity();
static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

PartialAttention PartialAttention::empty(const AttentionConfig &config,
                                         int64_t batch) {
  int64_t local = localLength(config);
  return {Tensor({batch, local, config.heads, config.headDim}, 0.0),
          Tensor({batch, config.heads, local}, -kInf)};
}

PartialAttention PartialAttention::undefined(const AttentionConfig &config,
                                             int64_t batch) {
  int64_t local = localLength(config);
  return {Tensor({batch, local, config.heads, config.headDim}, kNaN),
          Tensor({batch, config.heads, local}, kNaN)};
}

Shard Shard::filled(const AttentionConfig &config, int64_t batch,
                    double value) {
  std::vector<int64_t> shape{batch, localLength(config), config.kvHeads,
                             config.headDim};
  return {Tensor(shape, value), Tensor(shape, value)};
}

namespace {

double dot(const double *a, const double *b, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

/// Merges row (ob, lb) into row (oa, la) of head dimension `d`.
void mergeRow(double *oa, double &la, const double *ob, double lb, int64_t d) {
  if (lb == -kInf)
    return;
  if (la == -kInf) {
    std::copy(ob, ob + d, oa);
    la = lb;
    return;
  }
  double max = std::max(la, lb);
  double merged = max + std::log(std::exp(la - max) + std::exp(lb - max));
  double wa = std::exp(la - merged), wb = std::exp(lb - merged);
  for (int64_t i = 0; i < d; ++i)
    oa[i] = wa * oa[i] + wb * ob[i];
  la = merged;
}

/// Where a pair's rows start in local tokens, and how many keys query row
/// `i` of the pair sees.
struct PairRows {
  int64_t length, qBase, kvBase;
  bool diagonal;

  PairRows(const AttentionConfig &config, const ChunkPair &pair)
      : length(chunkLength(config)),
        qBase(localIndexOfChunk(config, pair.q) * length),
        kvBase(localIndexOfChunk(config, pair.kv) * length),
        diagonal(pair.mask == MaskKind::diagonal) {}

  int64_t keysOf(int64_t i) const { return diagonal ? i + 1 : length; }
};

} // namespace

void mlir::ringattn::sim::mergeInto(PartialAttention &into,
                                    const PartialAttention &from) {
  int64_t batch = into.out.dim(0), local = into.out.dim(1);
  int64_t heads = into.out.dim(2), d = into.out.dim(3);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < local; ++t)
      for (int64_t h = 0; h < heads; ++h)
        mergeRow(into.out.at({b, t, h}), *into.lse.at({b, h, t}),
                 from.out.at({b, t, h}), *from.lse.at({b, h, t}), d);
}

Tensor mlir::ringattn::sim::rowDotProducts(const Tensor &dout,
                                           const Tensor &out) {
  int64_t batch = out.dim(0), local = out.dim(1), heads = out.dim(2);
  int64_t d = out.dim(3);
  Tensor rowDot({batch, heads, local}, 0.0);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t t = 0; t < local; ++t)
      for (int64_t h = 0; h < heads; ++h)
        *rowDot.at({b, h, t}) = dot(dout.at({b, t, h}), out.at({b, t, h}), d);
  return rowDot;
}

void mlir::ringattn::sim::forwardPair(const AttentionConfig &config,
                                      const Tensor &q, const Shard &kv,
                                      const ChunkPair &pair,
                                      PartialAttention &partial) {
  if (pair.mask == MaskKind::hidden)
    return;
  PairRows rows(config, pair);
  int64_t batch = q.dim(0), d = config.headDim;
  double scale = softmaxScale(config);
  std::vector<double> weights, out(d);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < config.heads; ++h) {
      int64_t kvHead = h / config.groupSize();
      for (int64_t i = 0; i < rows.length; ++i) {
        const double *qRow = q.at({b, rows.qBase + i, h});
        weights.resize(rows.keysOf(i));
        for (int64_t j = 0, e = weights.size(); j < e; ++j)
          weights[j] =
              scale * dot(qRow, kv.k.at({b, rows.kvBase + j, kvHead}), d);
        // A NaN score makes the sum NaN whatever the maximum is.
        double max = *std::max_element(weights.begin(), weights.end());
        double sum = 0;
        for (double &w : weights) {
          w = std::exp(w - max);
          sum += w;
        }
        std::fill(out.begin(), out.end(), 0.0);
        for (int64_t j = 0, e = weights.size(); j < e; ++j) {
          const double *vRow = kv.v.at({b, rows.kvBase + j, kvHead});
          for (int64_t x = 0; x < d; ++x)
            out[x] += weights[j] / sum * vRow[x];
        }
        int64_t t = rows.qBase + i;
        mergeRow(partial.out.at({b, t, h}), *partial.lse.at({b, h, t}),
                 out.data(), max + std::log(sum), d);
      }
    }
}

void mlir::ringattn::sim::backwardPair(const AttentionConfig &config,
                                       const BackwardInputs &inputs,
                                       const Shard &kv, const ChunkPair &pair,
                                       Tensor &dq, Shard &dkv) {
  if (pair.mask == MaskKind::hidden)
    return;
  PairRows rows(config, pair);
  int64_t batch = inputs.q.dim(0), d = config.headDim;
  double scale = softmaxScale(config);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < config.heads; ++h) {
      int64_t kvHead = h / config.groupSize();
      for (int64_t i = 0; i < rows.length; ++i) {
        int64_t t = rows.qBase + i;
        double lse = *inputs.lse.at({b, h, t});
        // A row that has seen no key has P = 0: no contribution.
        if (lse == -kInf)
          continue;
        const double *qRow = inputs.q.at({b, t, h});
        const double *doutRow = inputs.dout.at({b, t, h});
        double rowDot = *inputs.rowDot.at({b, h, t});
        double *dqRow = dq.at({b, t, h});
        for (int64_t j = 0, e = rows.keysOf(i); j < e; ++j) {
          int64_t key = rows.kvBase + j;
          const double *kRow = kv.k.at({b, key, kvHead});
          double p = std::exp(scale * dot(qRow, kRow, d) - lse);
          double dp = dot(doutRow, kv.v.at({b, key, kvHead}), d);
          double ds = p * (dp - rowDot);
          double *dkRow = dkv.k.at({b, key, kvHead});
          double *dvRow = dkv.v.at({b, key, kvHead});
          for (int64_t x = 0; x < d; ++x) {
            dvRow[x] += p * doutRow[x];
            dqRow[x] += scale * ds * kRow[x];
            dkRow[x] += scale * ds * qRow[x];
          }
        }
      }
    }
}
