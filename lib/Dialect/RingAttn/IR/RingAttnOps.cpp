//===- RingAttnOps.cpp - ringattn op verifiers and builders ----------------===//
//
// Local invariants of the schedule ops. Global properties (coverage, buffer
// contents, transfer matching) belong to the ringattn-verify-schedule pass.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Schedule/Layout.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace mlir::ringattn;

#define GET_OP_CLASSES
#include "ringattn/Dialect/RingAttn/IR/RingAttnOps.cpp.inc"

/// The configuration of the schedule enclosing `op`.
static AttentionConfig configOf(Operation *op) {
  return op->getParentOfType<ScheduleOp>().getAttentionConfig();
}

static Direction directionOf(Operation *op) {
  return op->getParentOfType<ScheduleOp>().getDirection();
}

static int64_t rankOf(Operation *op) {
  return op->getParentOfType<RankOp>().getRank();
}

/// Checks a step index against the ring size.
static LogicalResult verifyStep(Operation *op, int64_t step) {
  int64_t cp = configOf(op).cp;
  if (step < 0 || step >= cp)
    return op->emitOpError() << "step " << step << " out of range [0, " << cp
                             << ")";
  return success();
}

//===----------------------------------------------------------------------===//
// ScheduleOp
//===----------------------------------------------------------------------===//

void ScheduleOp::build(OpBuilder &builder, OperationState &state,
                       StringRef name, Direction direction, ConfigAttr config) {
  state.addAttribute(getSymNameAttrName(state.name),
                     builder.getStringAttr(name));
  state.addAttribute(getDirectionAttrName(state.name),
                     DirectionAttr::get(builder.getContext(), direction));
  state.addAttribute(getConfigAttrName(state.name), config);
  state.addRegion()->emplaceBlock();
}

LogicalResult ScheduleOp::verify() {
  int64_t cp = getAttentionConfig().cp;
  int64_t expected = 0;
  for (Operation &op : getBody().front()) {
    auto rank = dyn_cast<RankOp>(op);
    if (!rank)
      return emitOpError() << "may only hold 'ringattn.rank' ops, found '"
                           << op.getName() << "'";
    // A parent is verified before the ops it holds: a rank op whose 'rank'
    // attribute is missing or not an i64 (the generic form) is left to its
    // own verifier.
    IntegerAttr idAttr = rank.getProperties().rank;
    if (!idAttr || !idAttr.getType().isSignlessInteger(64))
      return success();
    // I64Attr getters return uint64_t: read them signed, so that a negative
    // id is reported as written.
    int64_t id = idAttr.getInt();
    if (id != expected)
      return emitOpError() << "expects rank programs 0.." << cp - 1
                           << " in order; found rank " << id << " where rank "
                           << expected << " belongs";
    ++expected;
  }
  if (expected != cp)
    return emitOpError() << "expects " << cp << " rank programs (cp = " << cp
                         << "), found " << expected;
  return success();
}

//===----------------------------------------------------------------------===//
// RankOp
//===----------------------------------------------------------------------===//

void RankOp::build(OpBuilder &builder, OperationState &state, int64_t rank) {
  state.addAttribute(getRankAttrName(state.name),
                     builder.getI64IntegerAttr(rank));
  state.addRegion()->emplaceBlock();
}

LogicalResult RankOp::verify() {
  int64_t cp = configOf(*this).cp;
  int64_t rank = getRank();
  if (rank < 0 || rank >= cp)
    return emitOpError() << "rank " << rank << " out of range [0, " << cp
                         << ")";
  // The schedule model, the checker and the overlap pass know these ops only;
  // anything else would be read as a no-op.
  for (Operation &op : getBody().front())
    if (!isa<SendOp, RecvOp, WaitOp, ComputeOp, CombineOp, AccumulateOp,
             FinalizeOp>(op))
      return emitOpError() << "may only hold ring schedule ops (send, recv, "
                              "wait, compute, combine, accumulate, finalize), "
                              "found '"
                           << op.getName() << "'";
  return success();
}

//===----------------------------------------------------------------------===//
// SendOp / RecvOp
//===----------------------------------------------------------------------===//

/// Shared checks of a transfer post: a peer other than the rank itself, a
/// buffer kind the direction has, a hop within the ring.
static LogicalResult verifyTransfer(Operation *op, BufferAttr buffer,
                                    int64_t peer, int64_t hop) {
  AttentionConfig config = configOf(op);
  if (config.cp == 1)
    return op->emitOpError() << "a ring of one rank (cp = 1) has no transfers";
  if (peer < 0 || peer >= config.cp)
    return op->emitOpError() << "peer " << peer << " out of range [0, "
                             << config.cp << ")";
  if (peer == rankOf(op))
    return op->emitOpError() << "rank " << peer << " cannot transfer to itself";
  if (hop < 0 || hop >= config.cp)
    return op->emitOpError() << "hop " << hop << " out of range [0, "
                             << config.cp << ")";
  if (!buffer.holdsKV() && directionOf(op) == Direction::forward)
    return op->emitOpError()
           << "a forward schedule has no dK/dV transfers (buffer "
           << stringifyBufferKind(buffer.getKind()) << ")";
  return success();
}

LogicalResult SendOp::verify() {
  if (getBuffer().getKind() == BufferKind::dkv_partial)
    return emitOpError() << "cannot send dkv_partial: only a ring "
                            "accumulator (dkv_ring) travels";
  return verifyTransfer(*this, getBuffer(), getPeer(), getHop());
}

LogicalResult RecvOp::verify() {
  BufferKind kind = getBuffer().getKind();
  if (kind != BufferKind::kv_ring && kind != BufferKind::dkv_ring)
    return emitOpError() << "can only receive into a ring slot (kv_ring or "
                            "dkv_ring), not "
                         << stringifyBufferKind(kind);
  return verifyTransfer(*this, getBuffer(), getPeer(), getHop());
}

//===----------------------------------------------------------------------===//
// WaitOp
//===----------------------------------------------------------------------===//

LogicalResult WaitOp::verify() {
  if (getTransfers().empty())
    return emitOpError() << "needs at least one transfer";
  for (Value transfer : getTransfers()) {
    Operation *def = transfer.getDefiningOp();
    if (!def || !isa<SendOp, RecvOp>(def) ||
        def->getParentOp() != (*this)->getParentOp())
      return emitOpError()
             << "waits only on transfers posted by the same rank program";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ComputeOp
//===----------------------------------------------------------------------===//

void ComputeOp::build(OpBuilder &builder, OperationState &state, int64_t step,
                      BufferAttr kv, BufferAttr dkv) {
  state.addAttribute(getStepAttrName(state.name),
                     builder.getI64IntegerAttr(step));
  state.addAttribute(getKvAttrName(state.name), kv);
  if (dkv)
    state.addAttribute(getDkvAttrName(state.name), dkv);
  state.addRegion()->emplaceBlock();
}

LogicalResult ComputeOp::verify() {
  if (failed(verifyStep(*this, getStep())))
    return failure();
  if (!getKv().holdsKV())
    return emitOpError() << "reads K/V from kv_local or kv_ring, not "
                         << stringifyBufferKind(getKv().getKind());
  Direction direction = directionOf(*this);
  if (direction == Direction::forward && getDkv())
    return emitOpError() << "of a forward schedule has no dkv output";
  if (direction == Direction::backward) {
    if (!getDkv())
      return emitOpError() << "of a backward schedule needs a dkv output";
    BufferKind kind = getDkv()->getKind();
    if (kind != BufferKind::dkv_partial && kind != BufferKind::dkv_ring)
      return emitOpError() << "writes dK/dV to dkv_partial or dkv_ring, not "
                           << stringifyBufferKind(kind);
    if (getCombine())
      return emitOpError() << "'combine' is a forward epilogue";
  }
  for (Operation &op : getBody().front())
    if (!isa<PairOp>(op))
      return emitOpError() << "may only hold 'ringattn.pair' ops, found '"
                           << op.getName() << "'";
  return success();
}

//===----------------------------------------------------------------------===//
// PairOp
//===----------------------------------------------------------------------===//

LogicalResult PairOp::verify() {
  AttentionConfig config = configOf(*this);
  int64_t chunks = numChunks(config);
  int64_t q = getQ(), kv = getKv();
  if (q < 0 || q >= chunks)
    return emitOpError() << "q chunk " << q << " out of range [0, " << chunks
                         << ")";
  if (kv < 0 || kv >= chunks)
    return emitOpError() << "kv chunk " << kv << " out of range [0, " << chunks
                         << ")";
  int64_t rank = rankOf(*this);
  if (rankOfChunk(config, q) != rank) {
    auto held = chunksOfRank(config, rank);
    InFlightDiagnostic diag = emitOpError()
                              << "q chunk " << q << " is not held by rank "
                              << rank << " (it holds chunk";
    diag << (held.size() > 1 ? "s " : " ");
    llvm::interleave(held, [&](int64_t c) { diag << c; },
                     [&] { diag << " and "; });
    return diag << ")";
  }
  MaskKind mask = getMask();
  if (mask == MaskKind::diagonal && q != kv)
    return emitOpError() << "a diagonal pair needs q == kv (got q " << q
                         << ", kv " << kv << ")";
  if (!config.causal && mask != MaskKind::full)
    return emitOpError() << "a non-causal schedule has only full pairs (got "
                         << stringifyMaskKind(mask) << ")";
  if (config.causal && q == kv && mask == MaskKind::full)
    return emitOpError() << "pair (q " << q << ", kv " << kv
                         << ") of a causal schedule must be diagonal, not full";
  return success();
}

//===----------------------------------------------------------------------===//
// CombineOp / AccumulateOp / FinalizeOp
//===----------------------------------------------------------------------===//

LogicalResult CombineOp::verify() {
  if (directionOf(*this) != Direction::forward)
    return emitOpError() << "belongs to forward schedules";
  return verifyStep(*this, getStep());
}

LogicalResult AccumulateOp::verify() {
  if (directionOf(*this) != Direction::backward)
    return emitOpError() << "belongs to backward schedules";
  if (getSrc().getKind() != BufferKind::dkv_partial)
    return emitOpError() << "adds from dkv_partial, not "
                         << stringifyBufferKind(getSrc().getKind());
  if (getDst().getKind() != BufferKind::dkv_ring)
    return emitOpError() << "adds into a dkv_ring accumulator, not "
                         << stringifyBufferKind(getDst().getKind());
  return success();
}

LogicalResult FinalizeOp::verify() {
  Direction direction = directionOf(*this);
  if (direction == Direction::forward && getDkv())
    return emitOpError() << "of a forward schedule takes no dkv";
  if (direction == Direction::backward) {
    if (!getDkv())
      return emitOpError() << "of a backward schedule needs the dkv "
                              "accumulator that came home";
    if (getDkv()->getKind() != BufferKind::dkv_ring)
      return emitOpError() << "reads dK/dV from a dkv_ring slot, not "
                           << stringifyBufferKind(getDkv()->getKind());
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Custom assembly: buffers print as `kind[slot]`, enums as bare keywords.
//===----------------------------------------------------------------------===//

namespace {

/// Parses one of an enum's keywords into its attribute.
template <typename AttrT, typename EnumT>
ParseResult parseEnumKeyword(OpAsmParser &parser, AttrT &attr,
                             std::optional<EnumT> (*symbolize)(StringRef)) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<EnumT> value = symbolize(keyword);
  if (!value)
    return parser.emitError(loc) << "unknown keyword '" << keyword << "'";
  attr = AttrT::get(parser.getContext(), *value);
  return success();
}

} // namespace

ParseResult mlir::ringattn::parseBuffer(OpAsmParser &parser,
                                        BufferAttr &buffer) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword) || parser.parseLSquare())
    return failure();
  FailureOr<unsigned> slot = parseSlot(parser);
  if (failed(slot) || parser.parseRSquare())
    return failure();
  std::optional<BufferKind> kind = symbolizeBufferKind(keyword);
  if (!kind)
    return parser.emitError(loc) << "unknown buffer kind '" << keyword << "'";
  buffer = BufferAttr::getChecked([&] { return parser.emitError(loc); },
                                  parser.getContext(), *kind, *slot);
  return success(buffer != nullptr);
}

void mlir::ringattn::printBuffer(OpAsmPrinter &printer, Operation *,
                                 BufferAttr buffer) {
  printer << stringifyBufferKind(buffer.getKind()) << "[" << buffer.getSlot()
          << "]";
}

ParseResult mlir::ringattn::parseOptionalDkv(OpAsmParser &parser,
                                             BufferAttr &buffer) {
  if (failed(parser.parseOptionalKeyword("dkv")))
    return success();
  return failure(parser.parseLParen() || parseBuffer(parser, buffer) ||
                 parser.parseRParen());
}

void mlir::ringattn::printOptionalDkv(OpAsmPrinter &printer, Operation *op,
                                      BufferAttr buffer) {
  if (!buffer)
    return;
  printer << " dkv(";
  printBuffer(printer, op, buffer);
  printer << ")";
}

ParseResult mlir::ringattn::parseMask(OpAsmParser &parser, MaskKindAttr &mask) {
  return parseEnumKeyword<MaskKindAttr, MaskKind>(parser, mask,
                                                  symbolizeMaskKind);
}

void mlir::ringattn::printMask(OpAsmPrinter &printer, Operation *,
                               MaskKindAttr mask) {
  printer << stringifyMaskKind(mask.getValue());
}

ParseResult mlir::ringattn::parseDirection(OpAsmParser &parser,
                                           DirectionAttr &direction) {
  return parseEnumKeyword<DirectionAttr, Direction>(parser, direction,
                                                    symbolizeDirection);
}

void mlir::ringattn::printDirection(OpAsmPrinter &printer, Operation *,
                                    DirectionAttr direction) {
  printer << stringifyDirection(direction.getValue());
}
