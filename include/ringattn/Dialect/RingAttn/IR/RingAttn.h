//===- RingAttn.h - the ringattn dialect ------------------------*- C++ -*-===//
//
// The ringattn dialect: its types, attributes and ops.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_RINGATTN_IR_RINGATTN_H
#define RINGATTN_DIALECT_RINGATTN_IR_RINGATTN_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ringattn/Dialect/RingAttn/IR/RingAttnEnums.h"
#include "ringattn/Schedule/Config.h"

namespace mlir::ringattn {

/// The side-effect resource of ring state (buffers, transfers, accumulators).
/// Every schedule op reads and writes it, so generic passes keep their order.
struct RingBufferResource
    : public SideEffects::Resource::Base<RingBufferResource> {
  llvm::StringRef getName() final { return "RingBuffers"; }
};

/// Parses `true` or `false` (a parameter of #ringattn.config).
FailureOr<bool> parseBoolKeyword(AsmParser &parser);

/// Parses a buffer slot index (a parameter of #ringattn<buffer ...>), rejecting
/// negative values and values beyond `unsigned`.
FailureOr<unsigned> parseSlot(AsmParser &parser);

} // namespace mlir::ringattn

#include "ringattn/Dialect/RingAttn/IR/RingAttnDialect.h.inc"

#define GET_TYPEDEF_CLASSES
#include "ringattn/Dialect/RingAttn/IR/RingAttnTypes.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ringattn/Dialect/RingAttn/IR/RingAttnAttrs.h.inc"

namespace mlir::ringattn {
// Custom assembly directives of the ops (RingAttnOps.cpp).
ParseResult parseBuffer(OpAsmParser &parser, BufferAttr &buffer);
void printBuffer(OpAsmPrinter &printer, Operation *op, BufferAttr buffer);
ParseResult parseOptionalDkv(OpAsmParser &parser, BufferAttr &buffer);
void printOptionalDkv(OpAsmPrinter &printer, Operation *op, BufferAttr buffer);
ParseResult parseMask(OpAsmParser &parser, MaskKindAttr &mask);
void printMask(OpAsmPrinter &printer, Operation *op, MaskKindAttr mask);
ParseResult parseDirection(OpAsmParser &parser, DirectionAttr &direction);
void printDirection(OpAsmPrinter &printer, Operation *op,
                    DirectionAttr direction);
} // namespace mlir::ringattn

#define GET_OP_CLASSES
#include "ringattn/Dialect/RingAttn/IR/RingAttnOps.h.inc"

#endif // RINGATTN_DIALECT_RINGATTN_IR_RINGATTN_H
