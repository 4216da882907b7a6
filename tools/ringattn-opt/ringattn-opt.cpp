//===- ringattn-opt.cpp - the ringattn optimizer driver --------------------===//
//
// MlirOptMain with the ringattn dialect, its passes and the schedule
// pipeline.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Dialect/RingAttn/IR/RingAttn.h"
#include "ringattn/Dialect/RingAttn/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  mlir::ringattn::registerRingAttnPasses();
  mlir::ringattn::registerSchedulePipeline();
  mlir::DialectRegistry registry;
  registry.insert<mlir::ringattn::RingAttnDialect>();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "ringattn optimizer driver\n", registry));
}
