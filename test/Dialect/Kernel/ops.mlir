// RUN: ringattn-opt %s | ringattn-opt | FileCheck %s
// RUN: ringattn-opt %s --mlir-print-op-generic | ringattn-opt | FileCheck %s
// RUN: ringattn-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of rakernel.forward, #rakernel.pair and #rakernel.tile in the
// custom and in the generic form: every epilogue keyword, with and without
// chunks to finalize, a non-default tile and a discardable attribute.

// The first step of a cp = 1 rank: both query chunks, both diagonals.
// CHECK-LABEL: rakernel.forward @init_final config <cp = 1, seq = 4096, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, diagonal>, #rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, diagonal>]
// CHECK-SAME:    epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>{{$}}
// GENERIC-LABEL: "rakernel.forward"() <{
// GENERIC-SAME:    config = #ringattn.config<cp = 1, seq = 4096, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
// GENERIC-SAME:    epilogue = #rakernel<epilogue init_final>
// GENERIC-SAME:    finalize = array<i64>
// GENERIC-SAME:    pairs = [#rakernel.pair<q = 0, kv = 0, diagonal>, #rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, diagonal>]
// GENERIC-SAME:    sym_name = "init_final"
// GENERIC-SAME:    tile = #rakernel.tile<m = 128, n = 128, stages = 2, consumers = 2>}> : () -> ()
rakernel.forward @init_final config #ringattn.config<cp = 1, seq = 4096,
    heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
         #rakernel.pair<q = 1, kv = 0, full>,
         #rakernel.pair<q = 1, kv = 1, diagonal>]
  epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// CHECK-LABEL: rakernel.forward @init config
// CHECK-SAME:    head_dim = 64, dtype = fp16
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
// CHECK-SAME:    epilogue init tile <m = 64, n = 64, stages = 3, consumers = 1>{{$}}
// GENERIC-LABEL: "rakernel.forward"() <{
// GENERIC-SAME:    epilogue = #rakernel<epilogue init>
// GENERIC-SAME:    tile = #rakernel.tile<m = 64, n = 64, stages = 3, consumers = 1>
rakernel.forward @init config #ringattn.config<cp = 4, seq = 1024, heads = 8,
    kv_heads = 1, head_dim = 64, dtype = fp16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init tile <m = 64, n = 64, stages = 3, consumers = 1>

// CHECK-LABEL: rakernel.forward @merge config
// CHECK-SAME:    pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
// CHECK-SAME:    epilogue merge tile <m = 128, n = 64, stages = 1, consumers = 2>
// CHECK-SAME:    {note = "kept"}
// GENERIC-LABEL: "rakernel.forward"() <{
// GENERIC-SAME:    epilogue = #rakernel<epilogue merge>
// GENERIC-SAME:    }> {note = "kept"} : () -> ()
rakernel.forward @merge config #ringattn.config<cp = 4, seq = 1024, heads = 8,
    kv_heads = 1, head_dim = 64, dtype = fp16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
  epilogue merge tile <m = 128, n = 64, stages = 1, consumers = 2>
  {note = "kept"}

// The last step of a rank that computes only its back chunk: the front one
// is finalized from the accumulators.
// CHECK-LABEL: rakernel.forward @merge_final_fin0 config
// CHECK-SAME:    pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
// CHECK-SAME:    finalize [0] epilogue merge_final tile <m = 128, n = 128, stages = 2, consumers = 2>{{$}}
// GENERIC-LABEL: "rakernel.forward"() <{
// GENERIC-SAME:    epilogue = #rakernel<epilogue merge_final>
// GENERIC-SAME:    finalize = array<i64: 0>
rakernel.forward @merge_final_fin0 config #ringattn.config<cp = 4, seq = 32768,
    heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag,
    causal = true>
  pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
  finalize [0] epilogue merge_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// A kernel with nothing to compute, only accumulators to write out; the
// contiguous layout (one chunk per rank).
// CHECK-LABEL: rakernel.forward @finalize_only config
// CHECK-SAME:    layout = contiguous, causal = false>
// CHECK-SAME:    pairs [] finalize [0] epilogue merge_final tile
// GENERIC-LABEL: "rakernel.forward"() <{
// GENERIC-SAME:    finalize = array<i64: 0>, pairs = []
rakernel.forward @finalize_only config #ringattn.config<cp = 2, seq = 256,
    heads = 2, kv_heads = 2, head_dim = 64, dtype = bf16, layout = contiguous,
    causal = false>
  pairs [] finalize [0] epilogue merge_final
  tile <m = 128, n = 128, stages = 2, consumers = 2>

// The attributes on their own.
// CHECK-LABEL: rakernel.forward @attrs
// CHECK-SAME:    {a_pair = #rakernel.pair<q = 0, kv = 1, full>, a_tile = #rakernel.tile<m = 64, n = 16, stages = 4, consumers = 1>}
rakernel.forward @attrs config #ringattn.config<cp = 1, seq = 64, heads = 1,
    kv_heads = 1, head_dim = 64, dtype = bf16, layout = zigzag, causal = false>
  pairs [#rakernel.pair<q = 0, kv = 1, full>]
  epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>
  {a_pair = #rakernel.pair<q = 0, kv = 1, full>,
   a_tile = #rakernel.tile<m = 64, n = 16, stages = 4, consumers = 1>}
