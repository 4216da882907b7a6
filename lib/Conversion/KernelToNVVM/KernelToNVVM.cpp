//===- KernelToNVVM.cpp - rakernel ops -> Hopper LLVM + NVVM kernels -------===//
//
// Builds every rakernel op with the Hopper kernel builder into one
// gpu.module, and erases the rakernel ops.
//
//===----------------------------------------------------------------------===//

#include "ringattn/Conversion/Passes.h"
#include "ringattn/Target/Hopper/BackwardKernel.h"
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
    SmallVector<Operation *> kernels;
    for (Operation &op : *module.getBody())
      if (isa<rakernel::ForwardOp, rakernel::BackwardOp, rakernel::BackwardDqOp,
              rakernel::ElementwiseOp>(op))
        kernels.push_back(&op);
    if (kernels.empty())
      return;
    // A tiling whose shared memory an sm_90 CTA cannot have would only fail
    // at launch.
    for (Operation *kernel : kernels) {
      int64_t bytes = 0;
      if (auto op = dyn_cast<rakernel::ForwardOp>(kernel))
        bytes = hopper::forwardLaunch(hopper::ForwardKernelSpec::fromOp(op))
                    .sharedBytes;
      else if (auto op = dyn_cast<rakernel::BackwardOp>(kernel))
        bytes = hopper::backwardLaunch(hopper::BackwardKernelSpec::fromOp(op))
                    .sharedBytes;
      else if (auto op = dyn_cast<rakernel::BackwardDqOp>(kernel))
        bytes = hopper::dqLaunch(hopper::DqKernelSpec::fromOp(op)).sharedBytes;
      if (bytes > hopper::kMaxSharedBytes) {
        kernel->emitError() << "the kernel's tiles need " << bytes
                            << " bytes of shared memory, more than the "
                            << hopper::kMaxSharedBytes
                            << " an sm_90 CTA can have: fewer stages or "
                               "smaller tiles";
        return signalPassFailure();
      }
    }
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
    for (Operation *kernel : kernels) {
      Location loc = kernel->getLoc();
      if (auto op = dyn_cast<rakernel::ForwardOp>(kernel))
        hopper::buildForwardKernel(builder, loc,
                                   hopper::ForwardKernelSpec::fromOp(op));
      else if (auto op = dyn_cast<rakernel::BackwardOp>(kernel))
        hopper::buildBackwardKernel(builder, loc,
                                    hopper::BackwardKernelSpec::fromOp(op));
      else if (auto op = dyn_cast<rakernel::BackwardDqOp>(kernel))
        hopper::buildDqKernel(builder, loc, hopper::DqKernelSpec::fromOp(op));
      else if (auto op = dyn_cast<rakernel::ElementwiseOp>(kernel))
        hopper::buildElementwiseKernel(
            builder, loc, op.getSymName().str(), op.getConfig().getConfig(),
            static_cast<hopper::ElementwiseKind>(op.getKind()));
      kernel->erase();
    }
  }
};

} // namespace
