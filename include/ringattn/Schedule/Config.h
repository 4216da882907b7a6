//===- Config.h - the configuration of a ring attention ---------*- C++ -*-===//
//
// AttentionConfig is the MLIR-free view of #ringattn.config: the ring size, the
// sequence and head shape, the element type, the layout and the mask. Its
// validate() holds every invariant in one place; the attribute verifier, the
// ringattn-gen flag checks and the simulator all call it.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_SCHEDULE_CONFIG_H
#define RINGATTN_SCHEDULE_CONFIG_H

#include "ringattn/Dialect/RingAttn/IR/RingAttnEnums.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::ringattn {

/// One context-parallel attention. Batch is not part of it: it is a run-time
/// argument. Defaults are the seed's shape (Qwen3-30B-A3B attention).
struct AttentionConfig {
  int64_t cp = 1;
  int64_t seq = 0;
  int64_t heads = 32;
  int64_t kvHeads = 4;
  int64_t headDim = 128;
  DType dtype = DType::bf16;
  Layout layout = Layout::zigzag;
  bool causal = true;

  /// An invariant the configuration breaks: the field it concerns (named as
  /// in #ringattn.config, e.g. "kv_heads") and the rule in words.
  struct Violation {
    std::string field;
    std::string rule;
  };

  /// The first violated invariant, or std::nullopt if the configuration is
  /// valid. Rules: cp >= 1; seq, heads, kv_heads, head_dim >= 1;
  /// heads % kv_heads == 0; zigzag: seq % (2*cp) == 0; contiguous:
  /// seq % cp == 0.
  std::optional<Violation> validate() const;

  /// Query heads per K/V head.
  int64_t groupSize() const { return heads / kvHeads; }

  /// A one-line description, e.g. "cp=4 seq=32768 heads=32/4 d=128 bf16
  /// zigzag causal".
  std::string str() const;

  bool operator==(const AttentionConfig &other) const;
};

/// The largest ring the schedule passes expand (and ringattn-gen builds): a
/// schedule holds cp^2 computes per direction (cp = 128 takes about 6 s and
/// 300 MB).
constexpr int64_t kMaxRanks = 128;

/// Bytes per element of a dtype.
int64_t elementBytes(DType dtype);

} // namespace mlir::ringattn

#endif // RINGATTN_SCHEDULE_CONFIG_H
