//===- DenseReference.cpp - attention computed directly in fp64 -----------===//
//
// Row-by-row attention over the global sequence from the definition: scores
// of a query row against every visible key, a softmax with the row maximum
// subtracted, the weighted sum of values; gradients from the standard
// formulas. Deliberately shares no code with the simulator's chunk kernels,
// so that the two cannot be wrong the same way.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Simulator/DenseReference.h"

#include <algorithm>
#include <cmath>
#include <random>

using namespace mlir::ringattn;

double mlir::ringattn::softmaxScale(const AttentionConfig &config) {
  return 1.0 / std::sqrt(static_cast<double>(config.headDim));
}

AttentionInputs mlir::ringattn::randomInputs(const AttentionConfig &config,
                                             int64_t batch, uint64_t seed) {
  std::mt19937_64 generator(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  auto draw = [&](int64_t heads) {
    Tensor tensor({batch, config.seq, heads, config.headDim}, 0.0);
    for (double &x : tensor)
      x = normal(generator);
    return tensor;
  };
  AttentionInputs inputs;
  inputs.q = draw(config.heads);
  inputs.k = draw(config.kvHeads);
  inputs.v = draw(config.kvHeads);
  inputs.dout = draw(config.heads);
  return inputs;
}

namespace {

double dot(const double *a, const double *b, int64_t n) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i)
    sum += a[i] * b[i];
  return sum;
}

/// Keys visible to query `t`: [0, t] under a causal mask, else all.
int64_t visibleKeys(const AttentionConfig &config, int64_t t) {
  return config.causal ? t + 1 : config.seq;
}

/// The probabilities of query row (b, t, h) over its visible keys, and the
/// row's log-sum-exp of the scaled scores.
double softmaxRow(const AttentionConfig &config, const AttentionInputs &inputs,
                  int64_t b, int64_t t, int64_t h, std::vector<double> &p) {
  double scale = softmaxScale(config);
  int64_t d = config.headDim, kvHead = h / config.groupSize();
  int64_t keys = visibleKeys(config, t);
  p.resize(keys);
  const double *q = inputs.q.at({b, t, h});
  for (int64_t j = 0; j < keys; ++j)
    p[j] = scale * dot(q, inputs.k.at({b, j, kvHead}), d);
  double max = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double &x : p) {
    x = std::exp(x - max);
    sum += x;
  }
  for (double &x : p)
    x /= sum;
  return max + std::log(sum);
}

} // namespace

AttentionOutputs mlir::ringattn::denseForward(const AttentionConfig &config,
                                              const AttentionInputs &inputs) {
  int64_t batch = inputs.q.dim(0), seq = config.seq, d = config.headDim;
  int64_t kvGroup = config.groupSize();
  AttentionOutputs outputs{Tensor({batch, seq, config.heads, d}, 0.0),
                           Tensor({batch, config.heads, seq}, 0.0)};
  std::vector<double> p;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < config.heads; ++h)
      for (int64_t t = 0; t < seq; ++t) {
        *outputs.lse.at({b, h, t}) = softmaxRow(config, inputs, b, t, h, p);
        double *out = outputs.out.at({b, t, h});
        for (int64_t j = 0, e = p.size(); j < e; ++j) {
          const double *v = inputs.v.at({b, j, h / kvGroup});
          for (int64_t i = 0; i < d; ++i)
            out[i] += p[j] * v[i];
        }
      }
  return outputs;
}

AttentionGradients
mlir::ringattn::denseBackward(const AttentionConfig &config,
                              const AttentionInputs &inputs,
                              const AttentionOutputs &outputs) {
  int64_t batch = inputs.q.dim(0), seq = config.seq, d = config.headDim;
  double scale = softmaxScale(config);
  AttentionGradients grads{Tensor(inputs.q.getShape(), 0.0),
                           Tensor(inputs.k.getShape(), 0.0),
                           Tensor(inputs.v.getShape(), 0.0)};
  std::vector<double> p;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t h = 0; h < config.heads; ++h) {
      int64_t kvHead = h / config.groupSize();
      for (int64_t t = 0; t < seq; ++t) {
        // P from the softmax itself: the reference does not reuse LSE.
        softmaxRow(config, inputs, b, t, h, p);
        const double *q = inputs.q.at({b, t, h});
        const double *dout = inputs.dout.at({b, t, h});
        double rowDot = dot(dout, outputs.out.at({b, t, h}), d);
        double *dq = grads.dq.at({b, t, h});
        for (int64_t j = 0, e = p.size(); j < e; ++j) {
          const double *k = inputs.k.at({b, j, kvHead});
          double dp = dot(dout, inputs.v.at({b, j, kvHead}), d);
          double ds = p[j] * (dp - rowDot);
          double *dk = grads.dk.at({b, j, kvHead});
          double *dv = grads.dv.at({b, j, kvHead});
          for (int64_t i = 0; i < d; ++i) {
            dv[i] += p[j] * dout[i];
            dq[i] += scale * ds * k[i];
            dk[i] += scale * ds * q[i];
          }
        }
      }
    }
  return grads;
}

double mlir::ringattn::denseMultiplyAdds(const AttentionConfig &config,
                                         int64_t batch) {
  // Forward: QK^T and PV; backward: QK^T again, dO V^T, P^T dO, dS K, dS^T Q.
  double pairs = static_cast<double>(config.seq) * config.seq;
  if (config.causal)
    pairs /= 2;
  return 7.0 * batch * config.heads * pairs * config.headDim;
}
