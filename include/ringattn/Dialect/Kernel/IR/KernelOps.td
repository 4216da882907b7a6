//===- KernelOps.td - the rakernel dialect -----------------*- tablegen -*-===//
//
// The kernel level of ringattn: one op per distinct GPU kernel a schedule
// launches, saying what the kernel computes (the chunk pairs of a ring step,
// in a rank's local chunk numbering, and how its epilogue treats the
// accumulators) and how it is tiled. Target lowerings (the Hopper kernel
// builder) turn each op into a gpu.module of LLVM + NVVM ops.
//
//===----------------------------------------------------------------------===//

#ifndef RAKERNEL_OPS_TD
#define RAKERNEL_OPS_TD

include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"
include "ringattn/Dialect/RingAttn/IR/RingAttnEnums.td"
include "ringattn/Dialect/Kernel/IR/KernelEnums.td"

def RAKernel_Dialect : Dialect {
  let name = "rakernel";
  let cppNamespace = "::mlir::rakernel";
  let summary = "The GPU kernels of ring-attention schedules";
  let description = [{
    One `rakernel.forward` (and, later, backward) op per distinct kernel: the
    kernel of one ring step of one rank, fused over all its chunk pairs, with
    the combine of the partial result in its epilogue. Chunks are numbered
    locally: for Q, 0 is the rank's front chunk and 1 its back chunk; for K/V,
    the chunk's position in the K/V shard the step reads.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::ringattn::RingAttnDialect"];
}

def RAKernel_MaskKindParam : EnumParameter<RingAttn_MaskKind>;

// #ringattn.config, defined by the ringattn dialect.
def RAKernel_ConfigAttr : Attr<CPred<"::llvm::isa<::mlir::ringattn::ConfigAttr>($_self)">,
                               "ring-attention configuration"> {
  let storageType = "::mlir::ringattn::ConfigAttr";
  let returnType = "::mlir::ringattn::ConfigAttr";
  let convertFromStorage = "$_self";
}

def RAKernel_PairAttr : AttrDef<RAKernel_Dialect, "Pair"> {
  let mnemonic = "pair";
  let summary = "a chunk pair in local numbering";
  let description = [{
    `#rakernel.pair<q = 1, kv = 0, full>`: the rank's back query chunk against
    the front chunk of the K/V shard, without mask.
  }];
  let parameters = (ins "int64_t":$q, "int64_t":$kv, RAKernel_MaskKindParam:$mask);
  let assemblyFormat = "`<` `q` `=` $q `,` `kv` `=` $kv `,` $mask `>`";
}

def RAKernel_TileAttr : AttrDef<RAKernel_Dialect, "Tile"> {
  let mnemonic = "tile";
  let summary = "how a kernel is tiled and pipelined";
  let description = [{
    `m` query rows per CTA, `n` key rows per K/V tile, `stages` K/V tiles in
    flight in shared memory, `consumers` warpgroups doing the math (each owns
    64 query rows, so m = 64 * consumers; one more warpgroup loads tiles with
    TMA).

    ```mlir
    #rakernel.tile<m = 128, n = 128, stages = 2, consumers = 2>
    ```
  }];
  let parameters = (ins "int64_t":$m, "int64_t":$n, "int64_t":$stages,
                        "int64_t":$consumers);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def RAKernel_EpilogueAttr
    : EnumAttr<RAKernel_Dialect, RAKernel_EpilogueKind, "epilogue">;
def RAKernel_ElementwiseKindAttr
    : EnumAttr<RAKernel_Dialect, RAKernel_ElementwiseKindEnum, "elementwise_kind">;

def RAKernel_ForwardOp : Op<RAKernel_Dialect, "forward", [Symbol]> {
  let summary = "a fused forward kernel of one ring step";
  let description = [{
    For every query tile of the chunks in `pairs`, attends to every key of the
    pairs' K/V chunks (masked for `diagonal` pairs and tails), keeps one online
    softmax across the step's pairs, and combines the partial (O, LSE) with the
    rank's fp32 accumulators as `epilogue` says. The query chunks listed in
    `finalize` have no pair at this (last) step: their accumulators are only
    written out as O and LSE. Geometry: `chunk` tokens per chunk, `q_len` and
    `kv_len` tokens per rank (front chunk then back chunk).

    Lowers (rakernel-to-nvvm) to a gpu.module holding one kernel with
    parameters (tmaQ, tmaK, tmaV: 128-byte CUtensorMap by value; oAcc, lseAcc:
    fp32 accumulators; out, lse: outputs) and grid (work items, heads, batch).

    ```mlir
    rakernel.forward @fwd_0 config #ringattn.config<cp = 1, seq = 4096,
        heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16,
        layout = zigzag, causal = true>
      pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
             #rakernel.pair<q = 1, kv = 0, full>,
             #rakernel.pair<q = 1, kv = 1, diagonal>]
      epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       RAKernel_ConfigAttr:$config,
                       TypedArrayAttrBase<RAKernel_PairAttr, "chunk pairs">:$pairs,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$finalize,
                       RAKernel_EpilogueAttr:$epilogue,
                       RAKernel_TileAttr:$tile);
  let assemblyFormat = [{
    $sym_name `config` $config `pairs` $pairs
    (`finalize` $finalize^)? `epilogue` custom<Epilogue>($epilogue) `tile` $tile
    attr-dict
  }];
  let hasVerifier = 1;
}

def RAKernel_BackwardOp : Op<RAKernel_Dialect, "backward", [Symbol]> {
  let summary = "a fused backward kernel of one ring step";
  let description = [{
    For every K/V tile of the chunks in `pairs`, visits every query tile the
    pairs pair with it and computes dK and dV of the tile (the K/V chunks in
    `zero` have no pair and get zeros). By default a CTA per tile, query head
    and batch adds dQ to the rank's fp32 accumulator (TMA reductions of
    staged query tiles; per-element atomics for a tile that runs past its
    chunk) and its share of dK and dV to the step's fp32 partials (zeroed by
    the launch). `deterministic`: a CTA per tile, K/V head and batch walks
    the group's query heads, overwrites the partials and leaves dQ to a
    `rakernel.backward_dq`. P is recomputed from the final LSE; Delta =
    rowsum(dO * O) comes from the preprocess kernel. Tile: `m` K/V rows per
    CTA, `n` query rows per streamed tile.

    Lowers to a kernel with parameters (tmaQ, tmaK, tmaV, tmadO, tmaLSE,
    tmaDelta, tmadQ; dqAcc, dk, dv) and grid (kv_heads, work items, batch),
    times heads / kv_heads along y unless deterministic.

    ```mlir
    rakernel.backward @bwd_0 config <cp = 2, seq = 8192, heads = 32,
        kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag,
        causal = true>
      pairs [#rakernel.pair<q = 1, kv = 0, full>] zero [1]
      tile <m = 128, n = 64, stages = 2, consumers = 2>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       RAKernel_ConfigAttr:$config,
                       TypedArrayAttrBase<RAKernel_PairAttr, "chunk pairs">:$pairs,
                       DefaultValuedAttr<DenseI64ArrayAttr, "{}">:$zero,
                       UnitAttr:$deterministic,
                       RAKernel_TileAttr:$tile);
  let assemblyFormat = [{
    $sym_name `config` $config `pairs` $pairs (`zero` $zero^)?
    (`deterministic` $deterministic^)? `tile` $tile attr-dict
  }];
  let hasVerifier = 1;
}

def RAKernel_BackwardDqOp : Op<RAKernel_Dialect, "backward_dq", [Symbol]> {
  let summary = "the deterministic dQ kernel of one backward ring step";
  let description = [{
    For every query tile of the chunks in `pairs` (one CTA per tile, query
    head and batch), walks the K/V tiles of its pairs, recomputes P and dS
    and adds dQ = dS K to the rank's fp32 accumulator without atomics: run
    after a `deterministic` rakernel.backward, the backward is bit-identical
    run to run. Tile: `m` query rows per CTA, `n` K/V rows per tile.

    ```mlir
    rakernel.backward_dq @dq_0 config <...> pairs [...]
      tile <m = 128, n = 64, stages = 2, consumers = 2>
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       RAKernel_ConfigAttr:$config,
                       TypedArrayAttrBase<RAKernel_PairAttr, "chunk pairs">:$pairs,
                       RAKernel_TileAttr:$tile);
  let assemblyFormat = "$sym_name `config` $config `pairs` $pairs `tile` $tile attr-dict";
  let hasVerifier = 1;
}

def RAKernel_ElementwiseOp : Op<RAKernel_Dialect, "elementwise", [Symbol]> {
  let summary = "an elementwise kernel of the backward";
  let description = [{
    `preprocess`: Delta = rowsum(dO * O) in fp32 for every local row and
    query head, and the dQ accumulator zeroed (once per rank, before the
    first backward step). `accumulate`: dst += src over a fp32 dK/dV buffer
    (the partial into the travelling accumulator). `finalize`: dQ = scale *
    dQ accumulator, dK and dV from the accumulator that came home, in the
    input dtype.

    ```mlir
    rakernel.elementwise @bwd_preprocess config <...> preprocess
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       RAKernel_ConfigAttr:$config,
                       RAKernel_ElementwiseKindAttr:$kind);
  let assemblyFormat = "$sym_name `config` $config custom<ElementwiseKind>($kind) attr-dict";
}

#endif // RAKERNEL_OPS_TD
