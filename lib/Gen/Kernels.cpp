//===- Kernels.cpp - the kernel stage of ringattn-gen ----------------------===//

#include "ringattn/Gen/Kernels.h"
#include "ringattn/Conversion/Passes.h"
#include "ringattn/Target/Hopper/Compile.h"
#include "ringattn/Target/Hopper/BackwardKernel.h"
#include "ringattn/Target/Hopper/ForwardKernel.h"
#include "ringattn/Schedule/Layout.h"

#include "mlir/IR/SymbolTable.h"

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

/// The launch, tile and resource facts of one kernel, by role.
KernelEntry describe(Operation *op, const hopper::KernelResources &r,
                     const KernelStageOptions &options) {
  KernelEntry entry;
  entry.name = SymbolTable::getSymbolName(op).str();
  AttentionConfig config;
  auto describePairs = [&](const std::vector<hopper::LocalPair> &pairs) {
    for (const hopper::LocalPair &pair : pairs)
      entry.pairs.push_back(
          {pair.q, pair.kv, stringifyMaskKind(pair.mask).str()});
  };
  // A tiled kernel: heads along the grid's x, work items along y.
  auto describeTiles = [&](const auto &spec, const hopper::ForwardLaunch &launch,
                           int64_t heads) {
    entry.qRows = spec.blockM;
    entry.kvRows = spec.blockN;
    entry.stages = spec.stages;
    entry.headSection = launch.headSection;
    entry.grid = {heads, launch.gridX, 1};
    entry.block = {launch.blockThreads, 1, 1};
    entry.sharedMemoryBytes = launch.sharedBytes;
  };
  if (auto forward = dyn_cast<rakernel::ForwardOp>(op)) {
    hopper::ForwardKernelSpec spec = hopper::ForwardKernelSpec::fromOp(forward);
    hopper::ForwardLaunch launch = hopper::forwardLaunch(spec);
    config = spec.config;
    entry.role = "forward";
    entry.epilogue = rakernel::stringifyEpilogue(spec.epilogue).str();
    describePairs(spec.pairs);
    entry.finalize = spec.finalizeOnly;
    entry.readsAccumulators = spec.readsAccumulators();
    entry.writesFinal = spec.writesFinal();
    describeTiles(spec, launch, config.heads);
  } else if (auto backward = dyn_cast<rakernel::BackwardOp>(op)) {
    hopper::BackwardKernelSpec spec =
        hopper::BackwardKernelSpec::fromOp(backward);
    hopper::ForwardLaunch launch = hopper::backwardLaunch(spec);
    config = spec.config;
    entry.role = "backward";
    describePairs(spec.pairs);
    entry.zero = spec.zeroChunks;
    entry.deterministic = spec.deterministic;
    // The reducing kernel with grouped query heads adds into dK and dV
    // (zeroed by the launch).
    entry.readsAccumulators = spec.addsPartials();
    describeTiles(spec, launch, config.kvHeads);
  } else if (auto dq = dyn_cast<rakernel::BackwardDqOp>(op)) {
    hopper::DqKernelSpec spec = hopper::DqKernelSpec::fromOp(dq);
    hopper::ForwardLaunch launch = hopper::dqLaunch(spec);
    config = spec.config;
    entry.role = "backward_dq";
    describePairs(spec.pairs);
    entry.deterministic = true;
    describeTiles(spec, launch, config.heads);
  } else {
    auto elementwise = cast<rakernel::ElementwiseOp>(op);
    config = elementwise.getConfig().getConfig();
    auto kind = static_cast<hopper::ElementwiseKind>(elementwise.getKind());
    hopper::ElementwiseLaunch launch = hopper::elementwiseLaunch(config, kind);
    entry.role = rakernel::stringifyElementwiseKind(elementwise.getKind()).str();
    entry.grid = {launch.gridX, 1, 1};
    entry.block = {launch.blockThreads, 1, 1};
  }
  entry.qLen = localLength(config);
  entry.kvLen = localLength(config);
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
  LowerScheduleToKernelsOptions lowerOptions;
  lowerOptions.deterministic = options.deterministic;
  lower.addPass(createLowerScheduleToKernels(lowerOptions));
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
  llvm::scope_exit cleanup([&] {
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

  for (Operation &op : *module.getBody()) {
    if (!isa<rakernel::ForwardOp, rakernel::BackwardOp, rakernel::BackwardDqOp,
             rakernel::ElementwiseOp>(op))
      continue;
    std::string name = SymbolTable::getSymbolName(&op).str();
    auto it = assembled->kernels.find(name);
    if (it == assembled->kernels.end())
      return "ptxas reported nothing of kernel " + name;
    result.kernels.push_back(describe(&op, it->second, options));
  }
  return std::nullopt;
}
