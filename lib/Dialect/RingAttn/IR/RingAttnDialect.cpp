//===- RingAttnDialect.cpp - dialect, types and attributes -----------------===//
//
// Registration of the ringattn dialect and the verifiers of its attributes.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <limits>

using namespace mlir;
using namespace mlir::ringattn;

#include "ringattn/Dialect/RingAttn/IR/RingAttnDialect.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "ringattn/Dialect/RingAttn/IR/RingAttnTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ringattn/Dialect/RingAttn/IR/RingAttnAttrs.cpp.inc"

void RingAttnDialect::initialize() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "ringattn/Dialect/RingAttn/IR/RingAttnTypes.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ringattn/Dialect/RingAttn/IR/RingAttnAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ringattn/Dialect/RingAttn/IR/RingAttnOps.cpp.inc"
      >();
}

FailureOr<bool> mlir::ringattn::parseBoolKeyword(AsmParser &parser) {
  if (succeeded(parser.parseOptionalKeyword("true")))
    return true;
  if (succeeded(parser.parseOptionalKeyword("false")))
    return false;
  return parser.emitError(parser.getCurrentLocation(),
                          "expected 'true' or 'false'");
}

FailureOr<unsigned> mlir::ringattn::parseSlot(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  int64_t slot;
  if (parser.parseInteger(slot))
    return failure();
  if (slot < 0 || slot > std::numeric_limits<unsigned>::max())
    return parser.emitError(loc) << "buffer slot " << slot << " out of range";
  return static_cast<unsigned>(slot);
}

//===----------------------------------------------------------------------===//
// ConfigAttr
//===----------------------------------------------------------------------===//

static AttentionConfig makeConfig(int64_t cp, int64_t seq, int64_t heads,
                                  int64_t kvHeads, int64_t headDim, DType dtype,
                                  Layout layout, bool causal) {
  AttentionConfig config;
  config.cp = cp;
  config.seq = seq;
  config.heads = heads;
  config.kvHeads = kvHeads;
  config.headDim = headDim;
  config.dtype = dtype;
  config.layout = layout;
  config.causal = causal;
  return config;
}

LogicalResult ConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 int64_t cp, int64_t seq, int64_t heads,
                                 int64_t kvHeads, int64_t headDim, DType dtype,
                                 Layout layout, bool causal) {
  AttentionConfig config =
      makeConfig(cp, seq, heads, kvHeads, headDim, dtype, layout, causal);
  if (auto violation = config.validate())
    return emitError() << "invalid ring-attention config: " << violation->field
                       << ": " << violation->rule;
  return success();
}

ConfigAttr ConfigAttr::get(MLIRContext *context, const AttentionConfig &c) {
  return get(context, c.cp, c.seq, c.heads, c.kvHeads, c.headDim, c.dtype,
             c.layout, c.causal);
}

AttentionConfig ConfigAttr::getConfig() const {
  return makeConfig(getCp(), getSeq(), getHeads(), getKvHeads(), getHeadDim(),
                    getDtype(), getLayout(), getCausal());
}

//===----------------------------------------------------------------------===//
// BufferAttr
//===----------------------------------------------------------------------===//

/// Ring slots a schedule may use per buffer kind; two suffice for double
/// buffering, a few more leave room for deeper pipelines.
static constexpr unsigned kMaxRingSlots = 4;

LogicalResult BufferAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                 BufferKind kind, unsigned slot) {
  bool single = kind == BufferKind::kv_local || kind == BufferKind::dkv_partial;
  if (single && slot != 0)
    return emitError() << stringifyBufferKind(kind)
                       << " has a single slot, 0 (got " << slot << ")";
  if (!single && slot >= kMaxRingSlots)
    return emitError() << stringifyBufferKind(kind) << " slot " << slot
                       << " out of range [0, " << kMaxRingSlots << ")";
  return success();
}
