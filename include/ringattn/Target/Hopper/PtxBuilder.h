//===- PtxBuilder.h - the project's inline PTX, in one place ----*- C++ -*-===//
//
// Every inline PTX string ringattn writes itself is built here. MLIR's NVVM
// ops cover TMA, mbarriers, fences, setmaxnreg, elect.sync and wgmma with
// both operands in shared memory; two things need inline asm:
//  - wgmma with A in registers (P * V without a shared-memory round trip);
//  - a wgmma wait that ties the accumulator registers, so that nothing reads
//    them before the wait (nvvm.wgmma.wait.group has no register operands).
// Accumulators follow MLIR's wgmma lowering: an LLVM struct of f32, one
// "=f" output per element tied to its input ("+f").
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_TARGET_HOPPER_PTXBUILDER_H
#define RINGATTN_TARGET_HOPPER_PTXBUILDER_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Value.h"

#include <string>

namespace mlir::ringattn::hopper {

/// The PTX text and LLVM constraint string of one inline-asm statement.
struct PtxAsm {
  std::string text;
  std::string constraints;
};

/// Element type of a wgmma multiplicand.
enum class MmaInputType { bf16, f16 };

/// `wgmma.mma_async` m64nNk16 with f32 accumulators (N/2 per thread, tied
/// in/out), A from 4 registers of packed 16-bit pairs, B from a shared-memory
/// descriptor, B transposed (MN-major) when `transposeB`. Operands, in order:
/// N/2 accumulators, 4 A registers, the B descriptor (i64), scale-d (i32:
/// 0 overwrites the accumulators, 1 accumulates).
PtxAsm wgmmaRegisterAAsm(int64_t n, MmaInputType type, bool transposeB);

/// `wgmma.wait_group.sync.aligned pending` tying `count` f32 registers: they
/// come out of the statement as its results, so no read moves above it.
PtxAsm wgmmaWaitTiedAsm(int64_t pending, int64_t count);

/// Emits wgmmaRegisterAAsm as llvm.inline_asm; returns the new accumulator
/// struct (same type as `accumulators`).
Value createWgmmaRegisterA(OpBuilder &builder, Location loc, Value accumulators,
                           ArrayRef<Value> aRegisters, Value bDescriptor,
                           Value scaleD, int64_t n, MmaInputType type,
                           bool transposeB);

/// Emits wgmmaWaitTiedAsm over every given accumulator struct and returns
/// them, in order, as produced by the wait.
SmallVector<Value> createWgmmaWaitTied(OpBuilder &builder, Location loc,
                                       int64_t pending,
                                       ArrayRef<Value> accumulators);

} // namespace mlir::ringattn::hopper

#endif // RINGATTN_TARGET_HOPPER_PTXBUILDER_H
