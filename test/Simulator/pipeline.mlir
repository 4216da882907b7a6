// The schedule pipeline's output passes the simulator for both layouts, with
// and without a causal mask, MHA and GQA, cp = 1 and ring sizes up to 4. The
// first run fixes the seed; the second draws a fresh one (a correct schedule
// passes on any input) and simulates two sequences per run.
// RUN: ringattn-opt --ringattn-schedule-pipeline %s | ringattn-sim - --seed 7 | FileCheck %s
// RUN: ringattn-opt --ringattn-schedule-pipeline %s | ringattn-sim - --batch 2 | FileCheck %s --check-prefix=RANDOM

// CHECK: ringattn-sim: seed 7, batch 1, tolerance 1.00e-10
// CHECK: @zigzag_fwd: forward, cp=4 seq=128 heads=8/2 d=16 bf16 zigzag causal
// CHECK-NEXT: @zigzag_fwd: out error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @zigzag_fwd: lse error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @zigzag_fwd: PASS
// CHECK: @zigzag_bwd: backward, cp=4 seq=128 heads=8/2 d=16 bf16 zigzag causal
// CHECK-NEXT: @zigzag_bwd: dq error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @zigzag_bwd: dk error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @zigzag_bwd: dv error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @zigzag_bwd: PASS
// CHECK: @contiguous_fwd: PASS
// CHECK: @contiguous_bwd: PASS
// CHECK: @contiguous_full_fwd: PASS
// CHECK: @contiguous_full_bwd: PASS
// CHECK: @single_fwd: PASS
// CHECK: @single_bwd: PASS
// CHECK-NEXT: PASS: 8 schedules passed

// RANDOM: ringattn-sim: seed {{[0-9]+}}, batch 2, tolerance 1.00e-10
// RANDOM-NOT: FAIL
// RANDOM: PASS: 8 schedules passed

ringattn.attention @zigzag config <cp = 4, seq = 128, heads = 8, kv_heads = 2,
    head_dim = 16, dtype = bf16, layout = zigzag, causal = true>
ringattn.attention @contiguous config <cp = 3, seq = 96, heads = 4,
    kv_heads = 1, head_dim = 8, dtype = bf16, layout = contiguous, causal = true>
ringattn.attention @contiguous_full config <cp = 2, seq = 64, heads = 4,
    kv_heads = 4, head_dim = 8, dtype = fp16, layout = contiguous, causal = false>
ringattn.attention @single config <cp = 1, seq = 32, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
