// Every stage of the schedule pipeline leaves a correct schedule, not only the
// last: hidden pairs still in place (expand only), no overlap (combine as its
// own op after each compute), and overlap without the fused combine.
// RUN: ringattn-opt --ringattn-expand-schedule --ringattn-derive-backward %s | ringattn-sim - --seed 3 | FileCheck %s
// RUN: ringattn-opt --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-derive-backward %s | ringattn-sim - --seed 3 | FileCheck %s
// RUN: ringattn-opt --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-derive-backward --ringattn-overlap-communication %s | ringattn-sim - --seed 3 | FileCheck %s

// CHECK: @zigzag_fwd: PASS
// CHECK: @zigzag_bwd: PASS
// CHECK: @contiguous_fwd: PASS
// CHECK: @contiguous_bwd: PASS
// CHECK: PASS: 4 schedules passed

ringattn.attention @zigzag config <cp = 4, seq = 64, heads = 4, kv_heads = 2,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.attention @contiguous config <cp = 3, seq = 48, heads = 2,
    kv_heads = 1, head_dim = 8, dtype = bf16, layout = contiguous, causal = true>
