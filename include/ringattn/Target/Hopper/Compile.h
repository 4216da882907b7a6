//===- Compile.h - kernels to PTX and cubin ---------------------*- C++ -*-===//
//
// The last steps of kernel generation: lower the kernel bodies to the LLVM
// dialect and serialize the gpu.module to PTX (gpu-module-to-binary), then
// assemble the PTX with ptxas into a cubin and read the resources of every
// kernel (registers, spills, stack) from `ptxas -v`.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_TARGET_HOPPER_COMPILE_H
#define RINGATTN_TARGET_HOPPER_COMPILE_H

#include "mlir/IR/BuiltinOps.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::ringattn::hopper {

/// Lowers `module` (which holds gpu.module @ringattn_kernels) in place and
/// returns the PTX. Errors are emitted as diagnostics.
FailureOr<std::string> compileToPtx(ModuleOp module);

/// What ptxas reports of one kernel.
struct KernelResources {
  int64_t registers = 0;
  int64_t spillStores = 0;
  int64_t spillLoads = 0;
  int64_t stackFrame = 0;
};

struct PtxasResult {
  std::map<std::string, KernelResources> kernels;
  /// Warnings that mean a slow or broken kernel: ignored setmaxnreg (C7508),
  /// serialized wgmma (C7515), spills.
  std::vector<std::string> problems;
  /// The full `ptxas -v` output.
  std::string log;
};

/// Assembles `ptxPath` into `cubinPath` for `chip` with the ptxas at
/// `ptxasPath`. On failure, `error` says why.
std::optional<PtxasResult> assembleCubin(const std::string &ptxPath,
                                         const std::string &cubinPath,
                                         const std::string &chip,
                                         const std::string &ptxasPath,
                                         std::string &error);

/// Parses `ptxas -v` output (exposed for tests).
PtxasResult parsePtxasLog(const std::string &log);

} // namespace mlir::ringattn::hopper

#endif // RINGATTN_TARGET_HOPPER_COMPILE_H
