//===- RingAttnEnums.td - ringattn enumerations ------------*- tablegen -*-===//
//
// The enumerations of the ring-attention schedule: layouts, element types,
// directions, chunk-pair mask kinds and ring buffer kinds. They are generated
// apart from the dialect so that the MLIR-free schedule math shares them.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_ENUMS_TD
#define RINGATTN_ENUMS_TD

include "mlir/IR/EnumAttr.td"

def RingAttn_Layout : I32EnumAttr<"Layout",
    "how the global sequence is split across the ring", [
      // 2*cp chunks; rank r holds chunks r and 2*cp-1-r.
      I32EnumAttrCase<"zigzag", 0>,
      // cp chunks; rank r holds chunk r.
      I32EnumAttrCase<"contiguous", 1>
    ]> {
  let cppNamespace = "::mlir::ringattn";
  let genSpecializedAttr = 0;
}

def RingAttn_DType : I32EnumAttr<"DType", "element type of Q, K, V and O", [
      I32EnumAttrCase<"bf16", 0>,
      I32EnumAttrCase<"fp16", 1>,
      I32EnumAttrCase<"fp32", 2>
    ]> {
  let cppNamespace = "::mlir::ringattn";
  let genSpecializedAttr = 0;
}

def RingAttn_Direction : I32EnumAttr<"Direction", "forward or backward pass", [
      I32EnumAttrCase<"forward", 0>,
      I32EnumAttrCase<"backward", 1>
    ]> {
  let cppNamespace = "::mlir::ringattn";
  let genSpecializedAttr = 0;
}

def RingAttn_MaskKind : I32EnumAttr<"MaskKind",
    "what the causal mask leaves of a (q chunk, kv chunk) pair", [
      // Every query attends to every key of the pair.
      I32EnumAttrCase<"full", 0>,
      // Same chunk: the lower triangle including the diagonal.
      I32EnumAttrCase<"diagonal", 1>,
      // The causal mask hides the pair completely; it computes nothing.
      I32EnumAttrCase<"hidden", 2>
    ]> {
  let cppNamespace = "::mlir::ringattn";
  let genSpecializedAttr = 0;
}

def RingAttn_BufferKind : I32EnumAttr<"BufferKind",
    "the per-rank buffers a schedule names", [
      // The rank's own K/V shard (caller memory, read only).
      I32EnumAttrCase<"kv_local", 0>,
      // A ring slot that receives a neighbour's K/V shard.
      I32EnumAttrCase<"kv_ring", 1>,
      // The backward kernel's partial dK/dV for the visiting K/V shard.
      I32EnumAttrCase<"dkv_partial", 2>,
      // A ring slot holding a travelling fp32 dK/dV accumulator.
      I32EnumAttrCase<"dkv_ring", 3>
    ]> {
  let cppNamespace = "::mlir::ringattn";
  let genSpecializedAttr = 0;
}

#endif // RINGATTN_ENUMS_TD
