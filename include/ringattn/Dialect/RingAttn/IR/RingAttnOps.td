//===- RingAttnOps.td - ringattn dialect, types, attributes, ops -*- tablegen -*-===//
//
// The schedule level of ringattn: a configuration of context-parallel attention
// and the per-rank, per-step programs that compute it on a ring of `cp` ranks.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_OPS_TD
#define RINGATTN_OPS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "ringattn/Dialect/RingAttn/IR/RingAttnEnums.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def RingAttn_Dialect : Dialect {
  let name = "ringattn";
  let cppNamespace = "::mlir::ringattn";
  let summary = "Ring-attention schedules for context-parallel training";
  let description = [{
    The `ringattn` dialect describes context-parallel attention at the level of
    a ring schedule. A `ringattn.attention` op holds a configuration; passes
    expand it into a `ringattn.schedule` with one `ringattn.rank` program per
    rank. A program is a straight-line list of ring transfers (`send`, `recv`,
    `wait`) on named buffer slots and of per-step computations (`compute`
    holding `pair` ops, then `combine` or `accumulate`), ending in `finalize`.
    Program order is execution order on the rank; transfers are asynchronous
    between their post and their `wait`. docs/ScheduleSemantics.md explains
    the semantics in prose and pictures.
  }];
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
}

def RingAttn_RingBuffers : Resource<"::mlir::ringattn::RingBufferResource">;

// Every schedule op reads and writes ring state, so that generic passes (CSE,
// DCE, canonicalization, code motion) neither drop nor reorder the ring.
defvar RingAttn_RingEffects = MemoryEffects<[MemRead<RingAttn_RingBuffers>,
                                             MemWrite<RingAttn_RingBuffers>]>;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

def RingAttn_TransferType : TypeDef<RingAttn_Dialect, "Transfer"> {
  let mnemonic = "transfer";
  let summary = "a posted ring transfer";
  let description = [{
    The handle of an asynchronous send or receive. `ringattn.wait` completes it.
  }];
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

def RingAttn_LayoutAttr : EnumAttr<RingAttn_Dialect, RingAttn_Layout, "layout">;
def RingAttn_DTypeAttr : EnumAttr<RingAttn_Dialect, RingAttn_DType, "dtype">;
def RingAttn_DirectionAttr
    : EnumAttr<RingAttn_Dialect, RingAttn_Direction, "direction">;
def RingAttn_MaskKindAttr : EnumAttr<RingAttn_Dialect, RingAttn_MaskKind, "mask">;

def RingAttn_BoolParameter : AttrParameter<"bool", "true or false"> {
  let parser = "::mlir::ringattn::parseBoolKeyword($_parser)";
  let printer = "$_printer << ($_self ? \"true\" : \"false\")";
}

// A buffer slot index. Parsed signed, so that `kv_ring[-1]` is reported as
// written instead of wrapping around to 4294967295.
def RingAttn_SlotParameter : AttrParameter<"unsigned", "buffer slot index"> {
  let parser = "::mlir::ringattn::parseSlot($_parser)";
}

def RingAttn_ConfigAttr : AttrDef<RingAttn_Dialect, "Config"> {
  let mnemonic = "config";
  let summary = "the configuration of one context-parallel attention";
  let description = [{
    `cp` ranks on a ring; `seq` tokens per sequence in total; `heads` query heads
    and `kv_heads` K/V heads of `head_dim` elements in `dtype`; the `layout` of
    the sequence across ranks; `causal` masking. Batch is a run-time argument.

    ```mlir
    #ringattn.config<cp = 4, seq = 32768, heads = 32, kv_heads = 4,
                     head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
    ```
    Invariants: cp >= 1; seq, heads, kv_heads, head_dim >= 1;
    heads % kv_heads == 0; zigzag needs seq % (2*cp) == 0, contiguous
    seq % cp == 0.
  }];
  let parameters = (ins "int64_t":$cp, "int64_t":$seq, "int64_t":$heads,
                        "int64_t":$kv_heads, "int64_t":$head_dim,
                        EnumParameter<RingAttn_DType>:$dtype,
                        EnumParameter<RingAttn_Layout>:$layout,
                        RingAttn_BoolParameter:$causal);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
  let builders = [
    AttrBuilder<(ins "const ::mlir::ringattn::AttentionConfig &":$config)>
  ];
  let extraClassDeclaration = [{
    /// The MLIR-free view of this configuration.
    ::mlir::ringattn::AttentionConfig getConfig() const;
  }];
}

def RingAttn_BufferAttr : AttrDef<RingAttn_Dialect, "Buffer"> {
  let mnemonic = "buffer";
  let summary = "a named buffer slot of a rank";
  let description = [{
    `kv_local[0]` is the rank's own K/V shard; `kv_ring[i]` are ring slots that
    receive K/V shards; `dkv_partial[0]` is the backward kernel's partial dK/dV;
    `dkv_ring[i]` are slots of travelling fp32 dK/dV accumulators. In an op the
    attribute prints as `kind[slot]`; alone as `#ringattn<buffer kv_ring[1]>`.
  }];
  let parameters = (ins EnumParameter<RingAttn_BufferKind>:$kind,
                        RingAttn_SlotParameter:$slot);
  let assemblyFormat = "$kind `[` $slot `]`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether this buffer holds K/V (as opposed to dK/dV).
    bool holdsKV() const {
      return getKind() == BufferKind::kv_local || getKind() == BufferKind::kv_ring;
    }
  }];
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

// Builds a send or recv from a buffer, a peer and a hop.
defvar RingAttn_TransferBuilder = OpBuilder<
    (ins "BufferAttr":$buffer, "int64_t":$peer, "int64_t":$hop), [{
      build($_builder, $_state, TransferType::get($_builder.getContext()),
            buffer, $_builder.getI64IntegerAttr(peer),
            $_builder.getI64IntegerAttr(hop));
    }]>;

class RingAttn_Op<string mnemonic, list<Trait> traits = []>
    : Op<RingAttn_Dialect, mnemonic, traits>;

def RingAttn_AttentionOp : RingAttn_Op<"attention", [Symbol]> {
  let summary = "a context-parallel attention to be scheduled";
  let description = [{
    The input of the schedule pipeline: one attention with its configuration.
    `ringattn-expand-schedule` replaces it with a forward `ringattn.schedule`
    named `@<name>_fwd`.

    ```mlir
    ringattn.attention @attn config <cp = 4, seq = 32768, heads = 32,
        kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, RingAttn_ConfigAttr:$config);
  let assemblyFormat = "$sym_name `config` $config attr-dict";
}

def RingAttn_ScheduleOp : RingAttn_Op<"schedule", [
    Symbol, IsolatedFromAbove, SingleBlock, NoTerminator]> {
  let summary = "the ring schedule of one direction of an attention";
  let description = [{
    Holds exactly `cp` `ringattn.rank` programs, for ranks 0 .. cp-1 in order.
    Lowers to one host-side plan per rank (launches and NCCL groups) and one
    fused kernel per distinct step shape.

    ```mlir
    ringattn.schedule @attn_fwd forward config <cp = 1, seq = 256, heads = 2,
        kv_heads = 1, head_dim = 16, dtype = bf16, layout = zigzag, causal = true> {
      ringattn.rank 0 {
        ringattn.compute step 0 kv(kv_local[0]) {
          ringattn.pair q 0, kv 0, diagonal
          ringattn.pair q 1, kv 0, full
          ringattn.pair q 1, kv 1, diagonal
        }
        ringattn.combine step 0
        ringattn.finalize
      }
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       RingAttn_DirectionAttr:$direction,
                       RingAttn_ConfigAttr:$config);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name custom<Direction>($direction) `config` $config
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "::llvm::StringRef":$name, "Direction":$direction,
                   "ConfigAttr":$config)>
  ];
  let extraClassDeclaration = [{
    ::mlir::ringattn::AttentionConfig getAttentionConfig() {
      return getConfig().getConfig();
    }
    /// The rank programs, in rank order.
    auto getRanks() { return getBody().front().getOps<RankOp>(); }
  }];
}

def RingAttn_RankOp : RingAttn_Op<"rank", [
    HasParent<"ScheduleOp">, SingleBlock, NoTerminator]> {
  let summary = "the program one rank runs";
  let description = [{
    A straight-line program; program order is the rank's execution order.

    ```mlir
    ringattn.rank 1 {
      %0 = ringattn.send kv_local[0] to 0 hop 0
      %1 = ringattn.recv kv_ring[0] from 0 hop 0
      ...
    }
    ```
  }];
  let arguments = (ins I64Attr:$rank);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$rank attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins "int64_t":$rank)>];
}

def RingAttn_SendOp : RingAttn_Op<"send", [
    HasParent<"RankOp">, RingAttn_RingEffects]> {
  let summary = "post an asynchronous send of a buffer to a peer rank";
  let description = [{
    Posts a send of `buffer` to rank `peer`; `hop` numbers the ring hop (K/V hop
    h carries the shard for step h+1; dK/dV hop h follows step h). The buffer
    must stay unmodified until the returned transfer is waited. Consecutive
    posts form one NCCL group. Lowers to ncclSend.

    ```mlir
    %t = ringattn.send kv_local[0] to 1 hop 0
    ```
  }];
  let arguments = (ins RingAttn_BufferAttr:$buffer, I64Attr:$peer, I64Attr:$hop);
  let results = (outs RingAttn_TransferType:$transfer);
  let assemblyFormat = "custom<Buffer>($buffer) `to` $peer `hop` $hop attr-dict";
  let builders = [RingAttn_TransferBuilder];
  let hasVerifier = 1;
}

def RingAttn_RecvOp : RingAttn_Op<"recv", [
    HasParent<"RankOp">, RingAttn_RingEffects]> {
  let summary = "post an asynchronous receive into a ring slot";
  let description = [{
    Posts a receive from rank `peer` into a ring slot. The slot's contents are
    undefined from the post until the returned transfer is waited. Lowers to
    ncclRecv.

    ```mlir
    %t = ringattn.recv kv_ring[0] from 3 hop 0
    ```
  }];
  let arguments = (ins RingAttn_BufferAttr:$buffer, I64Attr:$peer, I64Attr:$hop);
  let results = (outs RingAttn_TransferType:$transfer);
  let assemblyFormat =
      "custom<Buffer>($buffer) `from` $peer `hop` $hop attr-dict";
  let builders = [RingAttn_TransferBuilder];
  let hasVerifier = 1;
}

def RingAttn_WaitOp : RingAttn_Op<"wait", [
    HasParent<"RankOp">, RingAttn_RingEffects]> {
  let summary = "wait for posted transfers to complete";
  let description = [{
    Blocks the rank's later work until every listed transfer has completed.
    Lowers to an event recorded on the communication stream and waited by the
    compute stream.

    ```mlir
    ringattn.wait %0, %1
    ```
  }];
  let arguments = (ins Variadic<RingAttn_TransferType>:$transfers);
  let assemblyFormat = "$transfers attr-dict";
  let hasVerifier = 1;
}

def RingAttn_ComputeOp : RingAttn_Op<"compute", [
    HasParent<"RankOp">, SingleBlock, NoTerminator, RingAttn_RingEffects]> {
  let summary = "the attention computed at one ring step (one kernel launch)";
  let description = [{
    Computes every `ringattn.pair` of its body against the K/V shard in `kv`.
    Forward: produces the step's partial O and LSE for the local query rows,
    merged into the fp32 accumulators by `ringattn.combine`, or in the kernel
    epilogue when `combine` is set. Backward: accumulates dQ locally and writes
    the step's partial dK/dV of the visiting shard to `dkv` (overwriting it).
    Lowers to one fused kernel launch; `launch @k` names the kernel-level op
    (rakernel) it launches, once ringattn-lower-to-kernels has run, and
    `launch_dq @d` the deterministic backward's separate dQ kernel.

    ```mlir
    ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
      ringattn.pair q 0, kv 3, full
      ringattn.pair q 7, kv 3, full
    }
    ```
  }];
  let arguments = (ins I64Attr:$step, RingAttn_BufferAttr:$kv,
                       OptionalAttr<RingAttn_BufferAttr>:$dkv,
                       UnitAttr:$combine,
                       OptionalAttr<FlatSymbolRefAttr>:$kernel,
                       OptionalAttr<FlatSymbolRefAttr>:$dq_kernel);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    `step` $step `kv` `(` custom<Buffer>($kv) `)` `` custom<OptionalDkv>($dkv)
    (`combine` $combine^)? (`launch` $kernel^)? (`launch_dq` $dq_kernel^)?
    attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [
    OpBuilder<(ins "int64_t":$step, "BufferAttr":$kv, "BufferAttr":$dkv)>
  ];
  let extraClassDeclaration = [{
    auto getPairs() { return getBody().front().getOps<PairOp>(); }
  }];
}

def RingAttn_PairOp : RingAttn_Op<"pair", [
    HasParent<"ComputeOp">, RingAttn_RingEffects]> {
  let summary = "one (query chunk, key/value chunk) block of a step";
  let description = [{
    Query chunk `q` (held by the rank) against K/V chunk `kv` (held by the
    compute's `kv` buffer), with the causal mask kind of the pair: `full`,
    `diagonal` (q == kv: the lower triangle with the diagonal) or `hidden`
    (entirely above the diagonal: computes nothing, removed by
    `ringattn-prune-hidden-pairs`). Chunk ids are global: zigzag has 2*cp
    chunks, contiguous cp. Lowers to the tiles of the step's kernel.

    ```mlir
    ringattn.pair q 7, kv 0, full
    ```
  }];
  let arguments = (ins I64Attr:$q, I64Attr:$kv, RingAttn_MaskKindAttr:$mask);
  let assemblyFormat = "`q` $q `,` `kv` $kv `,` custom<Mask>($mask) attr-dict";
  let hasVerifier = 1;
}

def RingAttn_CombineOp : RingAttn_Op<"combine", [
    HasParent<"RankOp">, RingAttn_RingEffects]> {
  let summary = "merge a forward step's partial result into the accumulators";
  let description = [{
    Per query row: L = log(e^La + e^Lb), O = e^(La-L) Oa + e^(Lb-L) Ob, with
    rows that have seen no key (L = -inf) left at O = 0, L = -inf.
    `ringattn-fuse-combine` folds it into the step's kernel epilogue.

    ```mlir
    ringattn.combine step 0
    ```
  }];
  let arguments = (ins I64Attr:$step);
  let assemblyFormat = "`step` $step attr-dict";
  let hasVerifier = 1;
}

def RingAttn_AccumulateOp : RingAttn_Op<"accumulate", [
    HasParent<"RankOp">, RingAttn_RingEffects]> {
  let summary = "add the step's partial dK/dV into a travelling accumulator";
  let description = [{
    Backward only: `dst += src`, where `src` is the step's partial dK/dV and
    `dst` the fp32 accumulator that arrived from the neighbour. Lowers to an
    elementwise add on the compute stream after the step's kernel.

    ```mlir
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ```
  }];
  let arguments = (ins RingAttn_BufferAttr:$src, RingAttn_BufferAttr:$dst);
  let assemblyFormat =
      "custom<Buffer>($src) `into` custom<Buffer>($dst) attr-dict";
  let hasVerifier = 1;
}

def RingAttn_FinalizeOp : RingAttn_Op<"finalize", [
    HasParent<"RankOp">, RingAttn_RingEffects]> {
  let summary = "write the rank's outputs";
  let description = [{
    Forward: O (in the input dtype) and LSE from the accumulators. Backward: dQ
    from its local accumulator, and dK/dV of the rank's own shard from `dkv`,
    the accumulator that has come home.

    ```mlir
    ringattn.finalize
    ringattn.finalize dkv(dkv_ring[0])
    ```
  }];
  let arguments = (ins OptionalAttr<RingAttn_BufferAttr>:$dkv);
  let assemblyFormat = "`` custom<OptionalDkv>($dkv) attr-dict";
  let hasVerifier = 1;
}

#endif // RINGATTN_OPS_TD
