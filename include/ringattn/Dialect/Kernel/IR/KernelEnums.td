//===- KernelEnums.td - rakernel enumerations --------------*- tablegen -*-===//

#ifndef RAKERNEL_ENUMS_TD
#define RAKERNEL_ENUMS_TD

include "mlir/IR/EnumAttr.td"

def RAKernel_EpilogueKind : I32EnumAttr<"Epilogue",
    "what a forward kernel does with the fp32 O/LSE accumulators", [
      // The rank's first step: write the partial as the accumulators.
      I32EnumAttrCase<"init", 0>,
      // Merge the partial into the accumulators.
      I32EnumAttrCase<"merge", 1>,
      // First and last step (cp = 1): write O in the input dtype and LSE.
      I32EnumAttrCase<"init_final", 2>,
      // Last step: merge, then write O in the input dtype and the final LSE.
      I32EnumAttrCase<"merge_final", 3>
    ]> {
  let cppNamespace = "::mlir::rakernel";
  let genSpecializedAttr = 0;
}
def RAKernel_ElementwiseKindEnum : I32EnumAttr<"ElementwiseKind",
    "the elementwise kernels of the backward", [
      I32EnumAttrCase<"preprocess", 0>,
      I32EnumAttrCase<"accumulate", 1>,
      I32EnumAttrCase<"finalize", 2>
    ]> {
  let cppNamespace = "::mlir::rakernel";
  let genSpecializedAttr = 0;
}

#endif // RAKERNEL_ENUMS_TD
