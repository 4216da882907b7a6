//===- Kernels.h - the kernel stage of ringattn-gen -------------*- C++ -*-===//
//
// Turns the schedules of a module into GPU kernels: lowers every forward
// compute to a kernel-level op (the module keeps them, with `launch @name` on
// the compute ops, for schedule.mlir), builds the Hopper kernels, compiles
// them to PTX and, with ptxas, to one cubin, and describes each kernel for
// the manifest (launch geometry, resources from ptxas).
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_GEN_KERNELS_H
#define RINGATTN_GEN_KERNELS_H

#include "ringattn/Gen/Manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::ringattn {

struct KernelStageOptions {
  /// The ptxas that assembles the cubin.
  std::string ptxasPath;
  /// The GPU architecture.
  std::string chip = "sm_90a";
  /// Backward dQ by a separate kernel that recomputes the scores:
  /// bit-identical run to run. The default reduces dQ (and dK, dV over a
  /// query-head group) in the main kernel, faster but not deterministic.
  bool deterministic = false;
  /// File names of the outputs, relative to the package.
  std::string ptxFile = "kernels.ptx";
  std::string cubinFile = "kernels.cubin";
};

struct GeneratedKernels {
  std::string ptx;
  /// The cubin's bytes.
  std::string cubin;
  std::vector<KernelEntry> kernels;
  /// ptxas warnings that mean a slow kernel (spills, ignored setmaxnreg,
  /// serialized wgmma).
  std::vector<std::string> warnings;
};

/// Runs the kernel stage on `module` (after the schedule pipeline). On
/// failure returns the reason in one line.
std::optional<std::string> generateKernels(ModuleOp module,
                                           const KernelStageOptions &options,
                                           GeneratedKernels &result);

} // namespace mlir::ringattn

#endif // RINGATTN_GEN_KERNELS_H
