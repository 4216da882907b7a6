//===- KernelToNVVM.cpp - rakernel ops -> Hopper LLVM + NVVM kernels -------===//
//
// Builds every rakernel op with the Hopper kernel builder into one
// gpu.module, and erases the rakernel ops.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Conversion/Passes.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::ringattn {
#define GEN_PASS_DEF_CONVERTKERNELSTONVVM
#include "ringattn/Conversion/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

struct ConvertKernelsToNVVMPass
    : public ringattn::impl::ConvertKernelsToNVVMBase<ConvertKernelsToNVVMPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<rakernel::ForwardOp> forwards(
        module.getBody()->getOps<rakernel::ForwardOp>());
    if (forwards.empty())
      return;
    MLIRContext *context = &getContext();
    OpBuilder builder(context);
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    UnitAttr::get(context));
    builder.setInsertionPointToEnd(module.getBody());
    auto target = NVVM::NVVMTargetAttr::get(context, /*optLevel=*/3,
                                            "nvptx64-nvidia-cuda", chip,
                                            features);
    auto gpuModule = gpu::GPUModuleOp::create(
        builder, module.getLoc(), "ringattn_kernels",
        builder.getArrayAttr({target}));
    builder.setInsertionPointToStart(&gpuModule.getBodyRegion().front());
    for (rakernel::ForwardOp forward : forwards) {
      hopper::buildForwardKernel(builder, forward.getLoc(),
                                 hopper::ForwardKernelSpec::fromOp(forward));
      forward.erase();
    }
  }
};

} // namespace
