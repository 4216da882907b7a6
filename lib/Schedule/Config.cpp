//===- Config.cpp - configuration invariants -------------------------------===//
//
// The invariants of an AttentionConfig, checked in one place.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Schedule/Config.h"

#include "llvm/Support/raw_ostream.h"

#include <tuple>

using namespace mlir::ringattn;

#include "ringattn/Dialect/RingAttn/IR/RingAttnEnums.cpp.inc"

std::optional<AttentionConfig::Violation> AttentionConfig::validate() const {
  auto violation = [](std::string field, std::string rule) {
    return std::optional<Violation>(Violation{std::move(field), std::move(rule)});
  };
  if (cp < 1)
    return violation("cp", "must be at least 1 (got " + std::to_string(cp) + ")");
  if (seq < 1)
    return violation("seq", "must be at least 1 (got " + std::to_string(seq) + ")");
  if (heads < 1)
    return violation("heads",
                     "must be at least 1 (got " + std::to_string(heads) + ")");
  if (kvHeads < 1)
    return violation("kv_heads",
                     "must be at least 1 (got " + std::to_string(kvHeads) + ")");
  if (heads % kvHeads != 0)
    return violation("kv_heads", "must divide heads (" + std::to_string(heads) +
                                     " % " + std::to_string(kvHeads) + " != 0)");
  if (headDim < 1)
    return violation("head_dim",
                     "must be at least 1 (got " + std::to_string(headDim) + ")");
  // 2*cp in 64 unsigned bits: it overflows int64_t for cp >= 2^62 (and then
  // cannot divide seq).
  uint64_t twoCp = 2 * static_cast<uint64_t>(cp);
  if (layout == Layout::zigzag && static_cast<uint64_t>(seq) % twoCp != 0)
    return violation("seq", "the zigzag layout needs seq divisible by 2*cp = " +
                                std::to_string(twoCp) + " (got " +
                                std::to_string(seq) + ")");
  if (layout == Layout::contiguous && seq % cp != 0)
    return violation("seq", "the contiguous layout needs seq divisible by cp = " +
                                std::to_string(cp) + " (got " +
                                std::to_string(seq) + ")");
  return std::nullopt;
}

std::string AttentionConfig::str() const {
  std::string out;
  llvm::raw_string_ostream os(out);
  os << "cp=" << cp << " seq=" << seq << " heads=" << heads << "/" << kvHeads
     << " d=" << headDim << " " << stringifyDType(dtype) << " "
     << stringifyLayout(layout) << (causal ? " causal" : " full");
  return out;
}

bool AttentionConfig::operator==(const AttentionConfig &o) const {
  return std::tie(cp, seq, heads, kvHeads, headDim, dtype, layout, causal) ==
         std::tie(o.cp, o.seq, o.heads, o.kvHeads, o.headDim, o.dtype, o.layout,
                  o.causal);
}

int64_t mlir::ringattn::elementBytes(DType dtype) {
  switch (dtype) {
  case DType::bf16:
  case DType::fp16:
    return 2;
  case DType::fp32:
    return 4;
  }
  llvm_unreachable("unknown dtype");
}
