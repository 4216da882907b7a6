//===- KernelDialect.cpp - the rakernel dialect ----------------------------===//
//
// Registration and verifiers of the kernel-level dialect.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/Kernel/IR/Kernel.h"
#include "ringattn/Schedule/Layout.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::rakernel;

#include "ringattn/Dialect/Kernel/IR/KernelDialect.cpp.inc"
#include "ringattn/Dialect/Kernel/IR/KernelEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "ringattn/Dialect/Kernel/IR/KernelAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "ringattn/Dialect/Kernel/IR/KernelOps.cpp.inc"

void RAKernelDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "ringattn/Dialect/Kernel/IR/KernelAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "ringattn/Dialect/Kernel/IR/KernelOps.cpp.inc"
      >();
}

ParseResult mlir::rakernel::parseEpilogue(OpAsmParser &parser,
                                          EpilogueAttr &epilogue) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<Epilogue> value = symbolizeEpilogue(keyword);
  if (!value)
    return parser.emitError(loc) << "unknown epilogue '" << keyword
                                 << "' (init, merge, init_final, merge_final)";
  epilogue = EpilogueAttr::get(parser.getContext(), *value);
  return success();
}

void mlir::rakernel::printEpilogue(OpAsmPrinter &printer, Operation *,
                                   EpilogueAttr epilogue) {
  printer << stringifyEpilogue(epilogue.getValue());
}

ParseResult mlir::rakernel::parseElementwiseKind(OpAsmParser &parser,
                                                 ElementwiseKindAttr &kind) {
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return failure();
  std::optional<ElementwiseKind> value = symbolizeElementwiseKind(keyword);
  if (!value)
    return parser.emitError(loc)
           << "unknown elementwise kernel '" << keyword
           << "' (preprocess, accumulate, finalize)";
  kind = ElementwiseKindAttr::get(parser.getContext(), *value);
  return success();
}

void mlir::rakernel::printElementwiseKind(OpAsmPrinter &printer, Operation *,
                                          ElementwiseKindAttr kind) {
  printer << stringifyElementwiseKind(kind.getValue());
}

LogicalResult TileAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t m, int64_t n, int64_t stages,
                               int64_t consumers) {
  // Each consumer warpgroup computes one m64 wgmma block of query rows.
  if (consumers < 1 || m != 64 * consumers)
    return emitError() << "tile m = " << m << " must be 64 rows per consumer "
                       << "warpgroup (consumers = " << consumers << ")";
  if (n < 16 || n > 256 || n % 16 != 0)
    return emitError() << "tile n = " << n
                       << " must be a multiple of 16 in [16, 256]";
  if (stages < 1)
    return emitError() << "tile stages = " << stages << " must be at least 1";
  // The register budget (one producer warpgroup at 24-40 registers, the
  // consumers at 232-240) fills the register file with two consumers.
  if (consumers > 2)
    return emitError() << "tile consumers = " << consumers
                       << ": the Hopper kernels' register split has room for "
                          "at most 2 consumer warpgroups";
  return success();
}

/// Checks the local chunk pairs of a kernel op.
static LogicalResult verifyPairs(Operation *op, ArrayAttr pairs,
                                 int64_t chunks) {
  for (PairAttr pair : pairs.getAsRange<PairAttr>()) {
    if (pair.getQ() < 0 || pair.getQ() >= chunks || pair.getKv() < 0 ||
        pair.getKv() >= chunks)
      return op->emitOpError()
             << "pair (q " << pair.getQ() << ", kv " << pair.getKv()
             << ") out of range: a rank holds " << chunks << " chunk(s)";
    if (pair.getMask() == MaskKind::hidden)
      return op->emitOpError()
             << "hidden pairs compute nothing; prune them first";
  }
  return success();
}

/// The local chunks of a rank under `config`.
static int64_t localChunks(ringattn::ConfigAttr config) {
  return ringattn::chunksOfRank(config.getConfig(), 0).size();
}

LogicalResult ForwardOp::verify() {
  int64_t qChunks = localChunks(getConfig());
  if (getPairs().empty() && getFinalize().empty())
    return emitOpError() << "has neither pairs nor chunks to finalize";
  if (failed(verifyPairs(*this, getPairs(), qChunks)))
    return failure();
  bool last = getEpilogue() == Epilogue::init_final ||
              getEpilogue() == Epilogue::merge_final;
  if (!getFinalize().empty() && !last)
    return emitOpError() << "finalizes chunks but its epilogue is not final";
  for (int64_t chunk : getFinalize()) {
    if (chunk < 0 || chunk >= qChunks)
      return emitOpError() << "finalize chunk " << chunk << " out of range";
    for (PairAttr pair : getPairs().getAsRange<PairAttr>())
      if (pair.getQ() == chunk)
        return emitOpError() << "finalize chunk " << chunk
                             << " also has a pair";
  }
  return success();
}

LogicalResult BackwardOp::verify() {
  int64_t chunks = localChunks(getConfig());
  if (getPairs().empty() && getZero().empty())
    return emitOpError() << "has neither pairs nor chunks to zero";
  if (failed(verifyPairs(*this, getPairs(), chunks)))
    return failure();
  for (int64_t chunk : getZero()) {
    if (chunk < 0 || chunk >= chunks)
      return emitOpError() << "zero chunk " << chunk << " out of range";
    for (PairAttr pair : getPairs().getAsRange<PairAttr>())
      if (pair.getKv() == chunk)
        return emitOpError() << "zero chunk " << chunk << " also has a pair";
  }
  return success();
}

LogicalResult BackwardDqOp::verify() {
  if (getPairs().empty())
    return emitOpError() << "has no pairs";
  return verifyPairs(*this, getPairs(), localChunks(getConfig()));
}
