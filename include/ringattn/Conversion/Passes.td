//===- Passes.td - ringattn conversion passes --------------*- tablegen -*-===//
//
// Lowering from the schedule level to the kernel level, and from the kernel
// level to LLVM + NVVM for Hopper.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_CONVERSION_PASSES_TD
#define RINGATTN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def LowerScheduleToKernels
    : Pass<"ringattn-lower-to-kernels", "::mlir::ModuleOp"> {
  let summary = "Give every compute op a fused kernel";
  let description = [{
    For each forward schedule (combines fused), derives the kernel of every
    `ringattn.compute`: its chunk pairs in the rank's local numbering, its
    epilogue (the rank's first compute initializes the fp32 accumulators, its
    last one writes O and LSE and finalizes the query chunks it does not
    compute, the others merge), and the tiling. For each backward schedule,
    the `rakernel.backward` of every compute (the K/V chunks without a pair
    get zero partials; a CTA per work item and query head adds dQ, and dK
    and dV, with reductions in the L2, which is not bit-identical run to run;
    with `deterministic`, each compute's main kernel writes dK and dV and its
    `rakernel.backward_dq`, `launch_dq @name`, recomputes the scores for dQ),
    and the three `rakernel.elementwise` kernels of the
    backward (preprocess, accumulate, finalize). Equal kernels are shared:
    one op per distinct kernel, referenced by `launch @name` on the compute
    ops. Configurations the GPU kernels do not support (head_dim other than
    64 and 128, dtype other than bf16 and fp16) are errors, and so are
    schedules whose hidden pairs are not pruned or whose combines are not
    fused.
  }];
  let dependentDialects = ["::mlir::rakernel::RAKernelDialect"];
  let options = [
    Option<"blockM", "block-m", "int64_t", /*default=*/"128",
           "Query rows per CTA">,
    Option<"blockN", "block-n", "int64_t", /*default=*/"0",
           "Key rows per K/V tile of the forward kernel (0: by head_dim, "
           "128 at head_dim 128, 192 at 64)">,
    Option<"stages", "stages", "int64_t", /*default=*/"3",
           "K/V tiles in flight in the forward kernel's shared memory">,
    Option<"deterministic", "deterministic", "bool", /*default=*/"false",
           "Backward dQ by a separate kernel, bit-identical run to run, "
           "instead of reductions in the main kernel">
  ];
  let statistics = [
    Statistic<"numKernels", "kernels", "Distinct kernels created">
  ];
}

def ConvertKernelsToNVVM
    : Pass<"ringattn-kernels-to-nvvm", "::mlir::ModuleOp"> {
  let summary = "Build every rakernel op as a Hopper kernel in LLVM + NVVM";
  let description = [{
    Replaces the rakernel ops by kernels (llvm.func with NVVM ops, plus their
    globals) in one `gpu.module @ringattn_kernels` targeting `chip`, built by
    the Hopper kernel builder (lib/Target/Hopper). The bodies use arith, scf,
    llvm and nvvm ops; the usual conversions to LLVM and gpu-module-to-binary
    then give PTX.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::NVVM::NVVMDialect",
    "::mlir::gpu::GPUDialect"
  ];
  let options = [
    Option<"chip", "chip", "std::string", /*default=*/"\"sm_90a\"",
           "The GPU architecture (compute capability 9.0a)">,
    Option<"features", "features", "std::string", /*default=*/"\"+ptx84\"",
           "PTX features (sm_90a needs +ptx80 or newer, the backward's vector "
           "atomics +ptx81)">
  ];
}

#endif // RINGATTN_CONVERSION_PASSES_TD
