// RUN: ringattn-opt %s -split-input-file -verify-diagnostics

// One expected-error for every verifier message of the rakernel dialect
// (KernelDialect.cpp: TileAttr::verify, ForwardOp::verify) and for the parse
// error of its custom epilogue directive.

//===----------------------------------------------------------------------===//
// #rakernel.tile
//===----------------------------------------------------------------------===//

// expected-error @+3 {{tile m = 128 must be 64 rows per consumer warpgroup (consumers = 0)}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 0>

// -----

// expected-error @+3 {{tile m = 96 must be 64 rows per consumer warpgroup (consumers = 1)}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 96, n = 128, stages = 2, consumers = 1>

// -----

// A consumer warpgroup computes exactly 64 rows: 256 rows need 4 of them.
// expected-error @+3 {{tile m = 256 must be 64 rows per consumer warpgroup (consumers = 2)}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 256, n = 128, stages = 2, consumers = 2>

// -----

// An empty tile (it used to pass, then divide by zero in the kernel builder).
// expected-error @+3 {{tile m = 0 must be 64 rows per consumer warpgroup (consumers = 1)}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 0, n = 128, stages = 2, consumers = 1>

// -----

// expected-error @+3 {{tile n = 8 must be a multiple of 16 in [16, 256]}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 128, n = 8, stages = 2, consumers = 2>

// -----

// expected-error @+3 {{tile n = 100 must be a multiple of 16 in [16, 256]}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 128, n = 100, stages = 2, consumers = 2>

// -----

// expected-error @+3 {{tile n = 272 must be a multiple of 16 in [16, 256]}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 128, n = 272, stages = 2, consumers = 2>

// -----

// expected-error @+3 {{tile stages = 0 must be at least 1}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 128, n = 128, stages = 0, consumers = 2>

// -----

// The same verifier guards the attribute written on its own.
// expected-error @+1 {{tile stages = -1 must be at least 1}}
func.func private @f() attributes {tile = #rakernel.tile<m = 64, n = 64, stages = -1, consumers = 1>}

// -----

//===----------------------------------------------------------------------===//
// rakernel.forward
//===----------------------------------------------------------------------===//

// expected-error @+3 {{unknown epilogue 'combine' (init, merge, init_final, merge_final)}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue combine tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// The configuration is verified as in the ringattn dialect.
// expected-error @+1 {{invalid ring-attention config: seq: the zigzag layout needs seq divisible by 2*cp = 8 (got 36)}}
rakernel.forward @k config #ringattn.config<cp = 4, seq = 36, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op has neither pairs nor chunks to finalize}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [] epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op pair (q 2, kv 0) out of range: a rank holds 2 chunk(s)}}
rakernel.forward @k config #ringattn.config<cp = 2, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 2, kv = 0, full>]
  epilogue init tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op pair (q 0, kv -1) out of range: a rank holds 2 chunk(s)}}
rakernel.forward @k config #ringattn.config<cp = 2, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = -1, full>]
  epilogue init tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// The contiguous layout gives a rank one chunk.
// expected-error @+1 {{'rakernel.forward' op pair (q 0, kv 1) out of range: a rank holds 1 chunk(s)}}
rakernel.forward @k config #ringattn.config<cp = 2, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = contiguous, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 1, full>]
  epilogue merge_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op hidden pairs compute nothing; prune them first}}
rakernel.forward @k config #ringattn.config<cp = 1, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>, #rakernel.pair<q = 0, kv = 1, hidden>]
  epilogue init_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op finalizes chunks but its epilogue is not final}}
rakernel.forward @k config #ringattn.config<cp = 2, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 1, kv = 0, full>]
  finalize [0] epilogue merge tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op finalize chunk 2 out of range}}
rakernel.forward @k config #ringattn.config<cp = 2, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 1, kv = 0, full>]
  finalize [2] epilogue merge_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+1 {{'rakernel.forward' op finalize chunk 1 also has a pair}}
rakernel.forward @k config #ringattn.config<cp = 2, seq = 4096, heads = 2, kv_heads = 1, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 1, kv = 0, full>]
  finalize [1] epilogue merge_final tile <m = 128, n = 128, stages = 2, consumers = 2>

// -----

// expected-error @+3 {{tile consumers = 3: the Hopper kernels' register split has room for at most 2 consumer warpgroups}}
rakernel.forward @k config <cp = 1, seq = 4096, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>]
  epilogue init_final tile <m = 192, n = 128, stages = 2, consumers = 3>
