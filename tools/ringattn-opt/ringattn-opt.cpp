//===- ringattn-opt.cpp - the ringattn optimizer driver --------------------===//
//
// MlirOptMain with the ringattn and rakernel dialects, their passes and
// pipelines, and upstream MLIR's dialects and passes (for lowering the
// kernels to LLVM, NVVM and PTX in tests).
//
//===----------------------------------------------------------------------===//

#include "ringattn/Conversion/Passes.h"
#include "ringattn/Dialect/Kernel/IR/Kernel.h"
#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::ringattn::registerRingAttnPasses();
  mlir::ringattn::registerRingAttnConversionPasses();
  mlir::ringattn::registerSchedulePipeline();
  mlir::DialectRegistry registry;
  registry.insert<mlir::ringattn::RingAttnDialect,
                  mlir::rakernel::RAKernelDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerAllToLLVMIRTranslations(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "ringattn optimizer driver\n", registry));
}
