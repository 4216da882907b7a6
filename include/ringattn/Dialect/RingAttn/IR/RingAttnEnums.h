//===- RingAttnEnums.h - ringattn enumerations ------------------*- C++ -*-===//
//
// The generated enumerations (layout, dtype, direction, mask kind, buffer
// kind), shared by the dialect and the MLIR-free schedule math.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_DIALECT_RINGATTN_IR_RINGATTNENUMS_H
#define RINGATTN_DIALECT_RINGATTN_IR_RINGATTNENUMS_H

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringRef.h"
#include <optional>

#include "ringattn/Dialect/RingAttn/IR/RingAttnEnums.h.inc"

#endif // RINGATTN_DIALECT_RINGATTN_IR_RINGATTNENUMS_H
