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

#include <optional>

namespace mlir::ringattn {
#define GEN_PASS_DEF_CONVERTKERNELSTONVVM
#include "ringattn/Conversion/Passes.h.inc"
} // namespace mlir::ringattn

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// The most CTAs a grid's y dimension takes (the work items of a tiled
/// kernel; the runtime launches heads along x).
constexpr int64_t kMaxGridY = 65535;

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
    // A tiling whose shared memory an sm_90 CTA cannot have, or a grid
    // taller than CUDA's 65535 along y, would only fail at launch.
    for (Operation *kernel : kernels) {
      std::optional<hopper::ForwardLaunch> launch;
      if (auto op = dyn_cast<rakernel::ForwardOp>(kernel))
        launch = hopper::forwardLaunch(hopper::ForwardKernelSpec::fromOp(op));
      else if (auto op = dyn_cast<rakernel::BackwardOp>(kernel))
        launch = hopper::backwardLaunch(hopper::BackwardKernelSpec::fromOp(op));
      else if (auto op = dyn_cast<rakernel::BackwardDqOp>(kernel))
        launch = hopper::dqLaunch(hopper::DqKernelSpec::fromOp(op));
      if (!launch)
        continue;
      if (launch->gridX > kMaxGridY) {
        kernel->emitError() << "the kernel needs " << launch->gridX
                            << " CTAs per head and sequence, more than the "
                            << kMaxGridY
                            << " a grid's y can launch: fewer tokens per rank "
                               "(a larger cp)";
        return signalPassFailure();
      }
      int64_t bytes = launch->sharedBytes;
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
