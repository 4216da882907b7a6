// RUN: ringattn-opt %s --ringattn-expand-schedule -split-input-file -verify-diagnostics

// A schedule holds cp^2 computes per direction: rings above kMaxRanks (128)
// are an error, not hours of expansion and an out-of-memory kill.

// expected-error @+1 {{'ringattn.attention' op has a ring of 129 ranks; the schedule passes expand rings of at most 128 (a schedule holds cp^2 computes)}}
ringattn.attention @a config <cp = 129, seq = 258, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{'ringattn.attention' op has a ring of 1099511627776 ranks}}
ringattn.attention @a config <cp = 1099511627776, seq = 2199023255552, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = contiguous, causal = false>
