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

LogicalResult TileAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                               int64_t m, int64_t n, int64_t stages,
                               int64_t consumers) {
  if (consumers < 1 || m % (64 * consumers) != 0)
    return emitError() << "tile m = " << m << " must be a multiple of 64 rows "
                       << "per consumer warpgroup (consumers = " << consumers
                       << ")";
  if (n < 16 || n > 256 || n % 16 != 0)
    return emitError() << "tile n = " << n
                       << " must be a multiple of 16 in [16, 256]";
  if (stages < 1)
    return emitError() << "tile stages = " << stages << " must be at least 1";
  return success();
}

LogicalResult ForwardOp::verify() {
  ringattn::AttentionConfig config = getConfig().getConfig();
  int64_t qChunks = ringattn::chunksOfRank(config, 0).size();
  if (getPairs().empty() && getFinalize().empty())
    return emitOpError() << "has neither pairs nor chunks to finalize";
  for (PairAttr pair : getPairs().getAsRange<PairAttr>()) {
    if (pair.getQ() < 0 || pair.getQ() >= qChunks || pair.getKv() < 0 ||
        pair.getKv() >= qChunks)
      return emitOpError() << "pair (q " << pair.getQ() << ", kv "
                           << pair.getKv() << ") out of range: a rank holds "
                           << qChunks << " chunk(s)";
    if (pair.getMask() == MaskKind::hidden)
      return emitOpError() << "hidden pairs compute nothing; prune them first";
  }
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
