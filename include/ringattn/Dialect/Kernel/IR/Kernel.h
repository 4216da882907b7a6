//===- Kernel.h - the rakernel dialect --------------------------*- C++ -*-===//
//
// The kernel level: one op per distinct GPU kernel of a schedule.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_KERNEL_IR_KERNEL_H
#define RINGATTN_DIALECT_KERNEL_IR_KERNEL_H

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include "ringattn/Dialect/Kernel/IR/KernelDialect.h.inc"

namespace mlir::rakernel {
using ::mlir::ringattn::MaskKind;
} // namespace mlir::rakernel

#include "ringattn/Dialect/Kernel/IR/KernelEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "ringattn/Dialect/Kernel/IR/KernelAttrs.h.inc"

namespace mlir::rakernel {
/// The epilogue keyword of rakernel.forward (custom assembly directive).
ParseResult parseEpilogue(OpAsmParser &parser, EpilogueAttr &epilogue);
void printEpilogue(OpAsmPrinter &printer, Operation *op, EpilogueAttr epilogue);
/// The kind keyword of rakernel.elementwise.
ParseResult parseElementwiseKind(OpAsmParser &parser,
                                 ElementwiseKindAttr &kind);
void printElementwiseKind(OpAsmPrinter &printer, Operation *op,
                          ElementwiseKindAttr kind);
} // namespace mlir::rakernel

#define GET_OP_CLASSES
#include "ringattn/Dialect/Kernel/IR/KernelOps.h.inc"

#endif // RINGATTN_DIALECT_KERNEL_IR_KERNEL_H
