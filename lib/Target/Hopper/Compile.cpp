//===- Compile.cpp - kernels to PTX and cubin ------------------------------===//

#include "ringattn/Target/Hopper/Compile.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"

#include <sstream>

using namespace mlir;
using namespace mlir::ringattn::hopper;

FailureOr<std::string> mlir::ringattn::hopper::compileToPtx(ModuleOp module) {
  // Serializing to PTX translates the gpu.module to LLVM IR through the NVVM
  // target.
  DialectRegistry registry;
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerBuiltinDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);
  PassManager pm(module.getContext());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertNVVMToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions options;
  options.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(options));
  if (failed(pm.run(module)))
    return failure();
  std::string ptx;
  module.walk([&](gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjects())
      ptx += cast<gpu::ObjectAttr>(object).getObject().str();
  });
  if (ptx.empty())
    return module.emitError("no kernels to compile"), failure();
  return ptx;
}

PtxasResult mlir::ringattn::hopper::parsePtxasLog(const std::string &log) {
  PtxasResult result;
  result.log = log;
  llvm::Regex compiling("Compiling entry function '([A-Za-z0-9_]+)'");
  llvm::Regex properties("Function properties for ([A-Za-z0-9_]+)");
  llvm::Regex frame("([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, "
                    "([0-9]+) bytes spill loads");
  llvm::Regex used("Used ([0-9]+) registers");
  std::istringstream lines(log);
  std::string line, current;
  while (std::getline(lines, line)) {
    SmallVector<StringRef> m;
    if (compiling.match(line, &m) || properties.match(line, &m)) {
      current = m[1].str();
      result.kernels[current];
    } else if (frame.match(line, &m) && !current.empty()) {
      KernelResources &r = result.kernels[current];
      m[1].getAsInteger(10, r.stackFrame);
      m[2].getAsInteger(10, r.spillStores);
      m[3].getAsInteger(10, r.spillLoads);
      if (r.spillStores || r.spillLoads)
        result.problems.push_back(current + ": " + line);
    } else if (used.match(line, &m) && !current.empty()) {
      m[1].getAsInteger(10, result.kernels[current].registers);
    }
    if (line.find("C7508") != std::string::npos ||
        line.find("C7515") != std::string::npos ||
        line.find("C7510") != std::string::npos)
      result.problems.push_back(line);
  }
  return result;
}

std::optional<PtxasResult> mlir::ringattn::hopper::assembleCubin(
    const std::string &ptxPath, const std::string &cubinPath,
    const std::string &chip, const std::string &ptxasPath, std::string &error) {
  SmallString<128> logPath;
  if (llvm::sys::fs::createTemporaryFile("ringattn-ptxas", "log", logPath)) {
    error = "cannot create a temporary file for the ptxas log";
    return std::nullopt;
  }
  std::string arch = "-arch=" + chip;
  SmallVector<StringRef> args = {ptxasPath, arch, "-O3", "-v", ptxPath, "-o",
                                 cubinPath};
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  std::string message;
  int status = llvm::sys::ExecuteAndWait(ptxasPath, args, std::nullopt,
                                         redirects, /*SecondsToWait=*/300, 0,
                                         &message);
  auto buffer = llvm::MemoryBuffer::getFile(logPath);
  std::string log = buffer ? (*buffer)->getBuffer().str() : "";
  llvm::sys::fs::remove(logPath);
  if (status != 0) {
    error = "ptxas failed (" +
            (message.empty() ? "exit status " + std::to_string(status)
                             : message) +
            "): " + log;
    return std::nullopt;
  }
  return parsePtxasLog(log);
}
