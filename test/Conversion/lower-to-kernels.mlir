// RUN: split-file %s %t
// RUN: ringattn-opt %t/kernels.mlir -split-input-file --ringattn-schedule-pipeline --ringattn-lower-to-kernels | FileCheck %s
// RUN: ringattn-opt %t/kernels.mlir -split-input-file --ringattn-schedule-pipeline --ringattn-lower-to-kernels | FileCheck %s --check-prefix=COUNT
// RUN: ringattn-opt %t/kernels.mlir -split-input-file --ringattn-schedule-pipeline --ringattn-lower-to-kernels | FileCheck %s --check-prefix=BWD
// RUN: ringattn-opt %t/kernels.mlir -split-input-file --ringattn-schedule-pipeline --ringattn-lower-to-kernels="block-m=64 block-n=64 stages=3" | FileCheck %s --check-prefix=TILE
// RUN: ringattn-opt %t/unsupported.mlir -split-input-file -verify-diagnostics --ringattn-schedule-pipeline --ringattn-lower-to-kernels
// RUN: ringattn-opt %t/unfused.mlir -verify-diagnostics --ringattn-expand-schedule --ringattn-lower-to-kernels
// RUN: ringattn-opt %t/unpruned.mlir -verify-diagnostics --ringattn-expand-schedule --ringattn-fuse-combine --ringattn-lower-to-kernels
// RUN: ringattn-opt %t/bad-tile.mlir -verify-diagnostics --ringattn-schedule-pipeline --ringattn-lower-to-kernels=block-n=300
// block-n=0 picks the tile by head_dim; a negative one is rejected like 300.
// RUN: ringattn-opt %t/negative-tile.mlir -verify-diagnostics --ringattn-schedule-pipeline --ringattn-lower-to-kernels=block-n=-16

// Every forward compute gets the fused kernel of its step, `launch @name`;
// chunk pairs in the rank's local numbering (q: 0 front, 1 back; kv: the
// chunk's place in the K/V shard); the first compute of a rank initializes
// the accumulators, its last writes O and LSE, the others merge; equal
// kernels are one rakernel.forward op. Backward computes launch no forward
// kernel.

//--- kernels.mlir

// cp = 1: one step, one kernel, both query chunks with their diagonals.
// CHECK-LABEL: rakernel.forward @fwd_q0k0d_q1k0f_q1k1d_init_final config <cp = 1,
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, diagonal>, #rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, diagonal>]
// CHECK-SAME:    epilogue init_final tile <m = 128, n = 128, stages = 3, consumers = 2>
// CHECK-LABEL: ringattn.schedule @one_fwd forward
// CHECK:         ringattn.compute step 0 kv(kv_local[0]) combine launch @fwd_q0k0d_q1k0f_q1k1d_init_final {
// CHECK-LABEL: ringattn.schedule @one_bwd backward
// COUNT-COUNT-1: rakernel.forward
// COUNT-NOT:     rakernel.forward
// COUNT:         // -----
// TILE-LABEL:  rakernel.forward @fwd_q0k0d_q1k0f_q1k1d_init_final
// TILE-SAME:     tile <m = 64, n = 64, stages = 3, consumers = 1>
ringattn.attention @one config <cp = 1, seq = 4096, heads = 32, kv_heads = 4,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>

// -----

// cp = 4 zigzag, 16 forward computes: five distinct kernels, each once.
// Every rank starts with its diagonal step; rank 0's K/V after step 0 come
// from later ranks (only its back chunk attends, full), the other ranks'
// from earlier ranks until they wrap around. Ranks 0-2 compute only the back
// chunk at step 3: the front chunk is finalized from the accumulators.
// CHECK:       rakernel.forward @[[$INIT:fwd_q0k0d_q1k0f_q1k1d_init]] config <cp = 4,
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, diagonal>, #rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, diagonal>]
// CHECK-SAME:    epilogue init tile
// CHECK-NEXT:  rakernel.forward @[[$BACK:fwd_q1k0f_q1k1f_merge]] config
// CHECK-SAME:    pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
// CHECK-SAME:    epilogue merge tile
// CHECK-NEXT:  rakernel.forward @[[$BACKFIN:fwd_q1k0f_q1k1f_merge_final_fin0]] config
// CHECK-SAME:    pairs [#rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
// CHECK-SAME:    finalize [0] epilogue merge_final tile
// CHECK-NEXT:  rakernel.forward @[[$FRONT:fwd_q0k0f_q1k0f_merge]] config
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, full>, #rakernel.pair<q = 1, kv = 0, full>]
// CHECK-SAME:    epilogue merge tile
// CHECK-NEXT:  rakernel.forward @[[$FRONTFIN:fwd_q0k0f_q1k0f_merge_final]] config
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, full>, #rakernel.pair<q = 1, kv = 0, full>]
// CHECK-SAME:    epilogue merge_final tile
// CHECK-LABEL: ringattn.schedule @four_fwd forward
// CHECK:         ringattn.rank 0 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$INIT]] {
// CHECK:           ringattn.compute step 1 {{.*}} launch @[[$BACK]] {
// CHECK:           ringattn.compute step 2 {{.*}} launch @[[$BACK]] {
// CHECK:           ringattn.compute step 3 {{.*}} launch @[[$BACKFIN]] {
// CHECK:         ringattn.rank 1 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$INIT]] {
// CHECK:           ringattn.compute step 1 {{.*}} launch @[[$FRONT]] {
// CHECK:           ringattn.compute step 2 {{.*}} launch @[[$BACK]] {
// CHECK:           ringattn.compute step 3 {{.*}} launch @[[$BACKFIN]] {
// CHECK:         ringattn.rank 2 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$INIT]] {
// CHECK:           ringattn.compute step 1 {{.*}} launch @[[$FRONT]] {
// CHECK:           ringattn.compute step 2 {{.*}} launch @[[$FRONT]] {
// CHECK:           ringattn.compute step 3 {{.*}} launch @[[$BACKFIN]] {
// CHECK:         ringattn.rank 3 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$INIT]] {
// CHECK:           ringattn.compute step 1 {{.*}} launch @[[$FRONT]] {
// CHECK:           ringattn.compute step 2 {{.*}} launch @[[$FRONT]] {
// CHECK:           ringattn.compute step 3 {{.*}} launch @[[$FRONTFIN]] {
// CHECK-LABEL: ringattn.schedule @four_bwd backward
// COUNT-COUNT-5: rakernel.forward @
// COUNT-NOT:     rakernel.forward
// COUNT-COUNT-16: combine launch @fwd_
// COUNT-NOT:     launch @fwd_
// COUNT:         // -----
// BWD-LABEL:   ringattn.schedule @four_bwd backward
// BWD-NOT:       launch @fwd_
// BWD:           // -----
ringattn.attention @four config <cp = 4, seq = 32768, heads = 32, kv_heads = 4,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>

// -----

// The contiguous layout: one chunk per rank; rank 0 computes at step 0 only
// (its first step is its last), rank r at steps 0..r.
// CHECK:       rakernel.forward @[[$ONLY:fwd_q0k0d_init_final]] config <cp = 4, seq = 4096, heads = 8, kv_heads = 8, head_dim = 64, dtype = fp16, layout = contiguous, causal = true>
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, diagonal>] epilogue init_final
// CHECK-SAME:    tile <m = 128, n = 192, stages = 3, consumers = 2>
// CHECK-NEXT:  rakernel.forward @[[$CINIT:fwd_q0k0d_init]] config
// CHECK-NEXT:  rakernel.forward @[[$CFIN:fwd_q0k0f_merge_final]] config
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, full>] epilogue merge_final
// CHECK-NEXT:  rakernel.forward @[[$CMERGE:fwd_q0k0f_merge]] config
// CHECK-LABEL: ringattn.schedule @contiguous_fwd forward
// CHECK:         ringattn.rank 0 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$ONLY]] {
// CHECK:           ringattn.finalize
// CHECK:         ringattn.rank 1 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$CINIT]] {
// CHECK:           ringattn.compute step 1 {{.*}} launch @[[$CFIN]] {
// CHECK:         ringattn.rank 3 {
// CHECK:           ringattn.compute step 0 {{.*}} launch @[[$CINIT]] {
// CHECK:           ringattn.compute step 1 {{.*}} launch @[[$CMERGE]] {
// CHECK:           ringattn.compute step 2 {{.*}} launch @[[$CMERGE]] {
// CHECK:           ringattn.compute step 3 {{.*}} launch @[[$CFIN]] {
// COUNT-COUNT-4: rakernel.forward @
// COUNT-NOT:     rakernel.forward
// COUNT:         // -----
ringattn.attention @contiguous config <cp = 4, seq = 4096, heads = 8,
    kv_heads = 8, head_dim = 64, dtype = fp16, layout = contiguous,
    causal = true>

// -----

// Non-causal: every pair is full, both steps of both ranks compute all four
// local pairs; two kernels.
// CHECK:       rakernel.forward @[[$NINIT:fwd_q0k0f_q0k1f_q1k0f_q1k1f_init]] config <cp = 2, {{.*}} causal = false>
// CHECK-SAME:    pairs [#rakernel.pair<q = 0, kv = 0, full>, #rakernel.pair<q = 0, kv = 1, full>, #rakernel.pair<q = 1, kv = 0, full>, #rakernel.pair<q = 1, kv = 1, full>]
// CHECK-SAME:    epilogue init tile
// CHECK-NEXT:  rakernel.forward @[[$NFIN:fwd_q0k0f_q0k1f_q1k0f_q1k1f_merge_final]] config
// CHECK-SAME:    epilogue merge_final tile
// CHECK-LABEL: ringattn.schedule @noncausal_fwd forward
// CHECK-COUNT-2: launch @[[$NINIT]] {
// CHECK-NOT:     launch @[[$NINIT]] {
// COUNT-COUNT-2: rakernel.forward @
// COUNT-NOT:     rakernel.forward
// COUNT:         // -----
ringattn.attention @noncausal config <cp = 2, seq = 4096, heads = 8,
    kv_heads = 8, head_dim = 128, dtype = bf16, layout = zigzag,
    causal = false>

// -----

// Two attentions whose kernels have the same name but not the same
// configuration: each launches its own kernel (the second is renamed).
// CHECK:       rakernel.forward @[[$BIG:fwd_q0k0d_q1k0f_q1k1d_init_final]] config <cp = 1, seq = 4096, {{.*}} head_dim = 128, dtype = bf16,
// CHECK-LABEL: ringattn.schedule @big_fwd forward
// CHECK:         launch @[[$BIG]] {
// CHECK:       rakernel.forward @[[$SMALL:fwd_q0k0d_q1k0f_q1k1d_init_final_0]] config <cp = 1, seq = 1000, {{.*}} head_dim = 64, dtype = fp16,
// CHECK-LABEL: ringattn.schedule @small_fwd forward
// CHECK:         launch @[[$SMALL]] {
// COUNT-COUNT-2: rakernel.forward @
// COUNT-NOT:     rakernel.forward
ringattn.attention @big config <cp = 1, seq = 4096, heads = 32, kv_heads = 4,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
ringattn.attention @small config <cp = 1, seq = 1000, heads = 16, kv_heads = 1,
    head_dim = 64, dtype = fp16, layout = zigzag, causal = true>

//--- unsupported.mlir

// Configurations the Hopper kernels do not support.

// expected-error @+1 {{cannot generate GPU kernels: the Hopper kernels support head_dim 64 and 128 (got 96)}}
ringattn.attention @dim96 config <cp = 2, seq = 4096, heads = 8, kv_heads = 8,
    head_dim = 96, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{cannot generate GPU kernels: the Hopper kernels support bf16 and fp16 (got fp32)}}
ringattn.attention @fp32 config <cp = 2, seq = 4096, heads = 8, kv_heads = 8,
    head_dim = 128, dtype = fp32, layout = zigzag, causal = true>

//--- unfused.mlir

// Without ringattn-fuse-combine every step still has its combine op.
// expected-error @+1 {{lowering to kernels needs the combines fused into the computes (ringattn-fuse-combine)}}
ringattn.attention @unfused config <cp = 2, seq = 4096, heads = 8, kv_heads = 8,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>

//--- unpruned.mlir

// Without ringattn-prune-hidden-pairs rank 0's step 0 keeps (q 0, kv 3).
// expected-error @+1 {{lowering to kernels needs the hidden pairs pruned (ringattn-prune-hidden-pairs)}}
ringattn.attention @unpruned config <cp = 2, seq = 4096, heads = 8, kv_heads = 8,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>

//--- bad-tile.mlir

// Pass options that make a tile #rakernel.tile rejects.
// expected-error @+1 {{tile n = 300 must be a multiple of 16 in [16, 256]}}
ringattn.attention @tile config <cp = 2, seq = 4096, heads = 8, kv_heads = 8,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>

//--- negative-tile.mlir

// expected-error @+1 {{tile n = -16 must be a multiple of 16 in [16, 256]}}
ringattn.attention @tile config <cp = 2, seq = 4096, heads = 8, kv_heads = 8,
    head_dim = 64, dtype = bf16, layout = zigzag, causal = true>
