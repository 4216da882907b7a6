//===- Kernels.cpp - the kernel stage of ringattn-gen ----------------------===//

#include "ringattn/Gen/Kernels.h"
#include "ringattn/Conversion/Passes.h"
#include "ringattn/Target/Hopper/Compile.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/ADT/ScopeExit.h"

using namespace mlir;
using namespace mlir::ringattn;

namespace {

/// Runs `pm` on `module`, returning the first diagnostic on failure.
std::optional<std::string> runPasses(PassManager &pm, ModuleOp module) {
  std::string first;
  ScopedDiagnosticHandler handler(module.getContext(), [&](Diagnostic &d) {
    if (first.empty() && d.getSeverity() == DiagnosticSeverity::Error)
      first = d.str();
    return success();
  });
  if (failed(pm.run(module)))
    return first.empty() ? std::string("the kernel pipeline failed") : first;
  return std::nullopt;
}

KernelEntry describe(rakernel::ForwardOp op, const hopper::KernelResources &r,
                     const KernelStageOptions &options) {
  hopper::ForwardKernelSpec spec = hopper::ForwardKernelSpec::fromOp(op);
  hopper::ForwardLaunch launch = hopper::forwardLaunch(spec);
  KernelEntry entry;
  entry.name = spec.name;
  entry.direction = "forward";
  entry.epilogue = rakernel::stringifyEpilogue(spec.epilogue).str();
  for (const hopper::LocalPair &pair : spec.pairs)
    entry.pairs.push_back({pair.q, pair.kv, stringifyMaskKind(pair.mask).str()});
  entry.finalize = spec.finalizeOnly;
  entry.readsAccumulators = spec.readsAccumulators();
  entry.writesFinal = spec.writesFinal();
  entry.qLen = localLength(spec.config);
  entry.kvLen = localLength(spec.config);
  entry.blockM = spec.blockM;
  entry.blockN = spec.blockN;
  entry.stages = spec.stages;
  entry.grid = {launch.gridX, spec.config.heads, 1};
  entry.block = {launch.blockThreads, 1, 1};
  entry.sharedMemoryBytes = launch.sharedBytes;
  entry.registers = r.registers;
  entry.spillBytes = r.spillStores + r.spillLoads;
  entry.stackFrameBytes = r.stackFrame;
  entry.ptxFile = options.ptxFile;
  entry.cubinFile = options.cubinFile;
  return entry;
}

} // namespace

std::optional<std::string>
mlir::ringattn::generateKernels(ModuleOp module,
                                const KernelStageOptions &options,
                                GeneratedKernels &result) {
  MLIRContext *context = module.getContext();
  context->loadDialect<rakernel::RAKernelDialect>();
  PassManager lower(context);
  lower.addPass(createLowerScheduleToKernels());
  if (auto error = runPasses(lower, module))
    return error;

  // Build and compile a copy: the module itself keeps the kernel-level ops.
  OwningOpRef<ModuleOp> kernels = module.clone();
  PassManager build(context);
  ConvertKernelsToNVVMOptions buildOptions;
  buildOptions.chip = options.chip;
  build.addPass(createConvertKernelsToNVVM(buildOptions));
  if (auto error = runPasses(build, *kernels))
    return error;
  std::string first;
  {
    ScopedDiagnosticHandler handler(context, [&](Diagnostic &d) {
      if (first.empty())
        first = d.str();
      return success();
    });
    FailureOr<std::string> ptx = hopper::compileToPtx(*kernels);
    if (failed(ptx))
      return "compiling the kernels to PTX failed: " + first;
    result.ptx = std::move(*ptx);
  }

  // ptxas works on files: a temporary PTX in, a temporary cubin out.
  SmallString<128> ptxPath, cubinPath;
  if (llvm::sys::fs::createTemporaryFile("ringattn-kernels", "ptx", ptxPath) ||
      llvm::sys::fs::createTemporaryFile("ringattn-kernels", "cubin",
                                         cubinPath))
    return std::string("cannot create temporary files for ptxas");
  auto cleanup = llvm::make_scope_exit([&] {
    llvm::sys::fs::remove(ptxPath);
    llvm::sys::fs::remove(cubinPath);
  });
  {
    std::error_code ec;
    llvm::raw_fd_ostream stream(ptxPath, ec);
    if (ec)
      return "cannot write " + ptxPath.str().str() + ": " + ec.message();
    stream << result.ptx;
  }
  std::string error;
  std::optional<hopper::PtxasResult> assembled = hopper::assembleCubin(
      ptxPath.str().str(), cubinPath.str().str(), options.chip,
      options.ptxasPath, error);
  if (!assembled)
    return error;
  auto cubin = llvm::MemoryBuffer::getFile(cubinPath, /*IsText=*/false);
  if (!cubin)
    return "ptxas wrote no cubin: " + cubin.getError().message();
  result.cubin = (*cubin)->getBuffer().str();
  result.warnings = assembled->problems;

  for (auto op : module.getBody()->getOps<rakernel::ForwardOp>()) {
    auto it = assembled->kernels.find(op.getSymName().str());
    if (it == assembled->kernels.end())
      return "ptxas reported nothing of kernel " + op.getSymName().str();
    result.kernels.push_back(describe(op, it->second, options));
  }
  return std::nullopt;
}
