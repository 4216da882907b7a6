// RUN: split-file %s %t
// RUN: ringattn-opt %t/expanded.mlir --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-fuse-combine | FileCheck %s --check-prefix=FUSED --implicit-check-not=ringattn.combine
// RUN: ringattn-opt %t/hand.mlir --ringattn-fuse-combine | FileCheck %s --check-prefix=HAND

// The compute of every combined step gets `combine` (the kernel epilogue
// merges its partial into the accumulators) and the combine op goes.

//--- expanded.mlir

// FUSED-LABEL: ringattn.schedule @zz_fwd forward
// FUSED-NEXT:    ringattn.rank 0 {
// FUSED-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// FUSED:           ringattn.compute step 1 kv(kv_ring[0]) combine {
// FUSED:           ringattn.compute step 2 kv(kv_ring[1]) combine {
// FUSED:           ringattn.compute step 3 kv(kv_ring[0]) combine {
// FUSED:           ringattn.finalize
// FUSED-NEXT:    }
// FUSED-COUNT-3: ringattn.compute step 3 kv(kv_ring[0]) combine {
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// FUSED-LABEL: ringattn.schedule @contig_fwd forward
// FUSED-NEXT:    ringattn.rank 0 {
// FUSED-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// FUSED-NOT:       ringattn.compute
// FUSED:           ringattn.rank 1 {
ringattn.attention @contig config <cp = 2, seq = 32, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = contiguous, causal = true>

//--- hand.mlir

// Combines the fusion would give a meaning they do not have stay for
// --ringattn-verify-schedule to report: one without a compute of its step,
// one before its compute, one after the finalize, the second of a step.
// HAND-LABEL: ringattn.schedule @odd forward
// HAND-NEXT:    ringattn.rank 0 {
// HAND-NEXT:      ringattn.combine step 1
// HAND-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// HAND:           }
// HAND-NEXT:      ringattn.finalize
// HAND-NEXT:    }
// HAND-NEXT:    ringattn.rank 1 {
// HAND-NEXT:      ringattn.combine step 0
// HAND-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// HAND:           }
// HAND-NEXT:      ringattn.compute step 1 kv(kv_local[0]) {
// HAND:           }
// HAND-NEXT:      ringattn.finalize
// HAND-NEXT:      ringattn.combine step 1
// HAND-NEXT:    }
ringattn.schedule @odd forward config <cp = 2, seq = 32, heads = 2,
    kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    ringattn.combine step 1
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
    }
    ringattn.combine step 0
    ringattn.finalize
  }
  ringattn.rank 1 {
    ringattn.combine step 0
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 1, kv 1, diagonal
    }
    ringattn.compute step 1 kv(kv_local[0]) {
      ringattn.pair q 2, kv 2, diagonal
    }
    ringattn.finalize
    ringattn.combine step 1
  }
}

// A second combine of an already fused step stays too; backward schedules
// have no combines and are left alone.
// HAND-LABEL: ringattn.schedule @twice forward
// HAND-NEXT:    ringattn.rank 0 {
// HAND-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// HAND:           }
// HAND-NEXT:      ringattn.combine step 0
// HAND-NEXT:      ringattn.finalize
// HAND-LABEL: ringattn.schedule @twice_bwd backward
// HAND-NEXT:    ringattn.rank 0 {
// HAND-NEXT:      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
ringattn.schedule @twice forward config <cp = 1, seq = 16, heads = 2,
    kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 1, kv 1, diagonal
    }
    ringattn.combine step 0
    ringattn.combine step 0
    ringattn.finalize
  }
}
ringattn.schedule @twice_bwd backward config <cp = 1, seq = 16, heads = 2,
    kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 1, kv 1, diagonal
    }
    ringattn.finalize dkv(dkv_ring[0])
  }
}
