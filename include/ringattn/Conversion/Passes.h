//===- Passes.h - ringattn conversion passes --------------------*- C++ -*-===//

#ifndef RINGATTN_CONVERSION_PASSES_H
#define RINGATTN_CONVERSION_PASSES_H

#include "ringattn/Dialect/Kernel/IR/Kernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ringattn {

#define GEN_PASS_DECL
#include "ringattn/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "ringattn/Conversion/Passes.h.inc"

} // namespace mlir::ringattn

#endif // RINGATTN_CONVERSION_PASSES_H
