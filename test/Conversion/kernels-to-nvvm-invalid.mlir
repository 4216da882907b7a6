// RUN: ringattn-opt %s -split-input-file --ringattn-kernels-to-nvvm -verify-diagnostics

// Q (128 rows) and four K/V stages of 128 rows at head_dim 128 need
// 32768 + 4 * 65536 bytes of shared memory and 13 mbarriers: more than an
// sm_90 CTA can have.
// expected-error @+1 {{the kernel's tiles need 295016 bytes of shared memory, more than the 232448 an sm_90 CTA can have: fewer stages or smaller tiles}}
rakernel.forward @too_deep config #ringattn.config<cp = 1, seq = 4096,
    heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
         #rakernel.pair<q = 1, kv = 0, full>,
         #rakernel.pair<q = 1, kv = 1, diagonal>]
  epilogue init_final tile <m = 128, n = 128, stages = 4, consumers = 2>

// -----

// 2M tokens on one rank: 16384 K/V tiles of 128 rows, a CTA per tile and
// each of a group's 8 query heads: 131072 along the grid's y.
// expected-error @+1 {{the kernel needs 131072 CTAs per head and sequence, more than the 65535 a grid's y can launch: fewer tokens per rank (a larger cp)}}
rakernel.backward @too_long config #ringattn.config<cp = 1, seq = 2097152,
    heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
         #rakernel.pair<q = 1, kv = 0, full>,
         #rakernel.pair<q = 1, kv = 1, diagonal>]
  tile <m = 128, n = 64, stages = 2, consumers = 2>

// -----

// The deterministic backward runs a CTA per tile and K/V head: 16384 fit.
rakernel.backward @long_deterministic config #ringattn.config<cp = 1,
    seq = 2097152, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16,
    layout = zigzag, causal = true>
  pairs [#rakernel.pair<q = 0, kv = 0, diagonal>,
         #rakernel.pair<q = 1, kv = 0, full>,
         #rakernel.pair<q = 1, kv = 1, diagonal>]
  deterministic tile <m = 128, n = 64, stages = 2, consumers = 2>
