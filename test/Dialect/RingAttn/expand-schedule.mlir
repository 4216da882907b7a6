// RUN: ringattn-opt %s --ringattn-expand-schedule | FileCheck %s --implicit-check-not=ringattn.attention

// Every ringattn.attention becomes a forward schedule @<name>_fwd with one
// program per rank: per step a compute holding every (local q chunk, held kv
// chunk) pair with its mask kind (hidden ones included), its combine, and the
// K/V hop to the next step followed by its wait (no overlap yet).

// Zigzag, cp = 4: rank r holds chunks r and 7 - r; at step s it holds the K/V
// of rank (r - s) mod 4, from kv_local[0] at step 0, then kv_ring[0],
// kv_ring[1], kv_ring[0] (hop s fills the slot step s - 1 read).
// CHECK-LABEL: ringattn.schedule @zz_fwd forward config <cp = 4, seq = 64, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 0, kv 7, hidden
// CHECK-NEXT:        ringattn.pair q 7, kv 0, full
// CHECK-NEXT:        ringattn.pair q 7, kv 7, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      [[S0:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[R0:%.+]] = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK-NEXT:      ringattn.wait [[S0]], [[R0]]
// Step 1: the shard of rank 3 (chunks 3 and 4).
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 3, hidden
// CHECK-NEXT:        ringattn.pair q 0, kv 4, hidden
// CHECK-NEXT:        ringattn.pair q 7, kv 3, full
// CHECK-NEXT:        ringattn.pair q 7, kv 4, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 1
// CHECK-NEXT:      [[S1:%.+]] = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NEXT:      [[R1:%.+]] = ringattn.recv kv_ring[1] from 3 hop 1
// CHECK-NEXT:      ringattn.wait [[S1]], [[R1]]
// Step 2: the shard of rank 2 (chunks 2 and 5).
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 2, hidden
// CHECK-NEXT:        ringattn.pair q 0, kv 5, hidden
// CHECK-NEXT:        ringattn.pair q 7, kv 2, full
// CHECK-NEXT:        ringattn.pair q 7, kv 5, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK-NEXT:      [[S2:%.+]] = ringattn.send kv_ring[1] to 1 hop 2
// CHECK-NEXT:      [[R2:%.+]] = ringattn.recv kv_ring[0] from 3 hop 2
// CHECK-NEXT:      ringattn.wait [[S2]], [[R2]]
// Step 3: the shard of rank 1 (chunks 1 and 6); no hop after the last step.
// CHECK-NEXT:      ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 1, hidden
// CHECK-NEXT:        ringattn.pair q 0, kv 6, hidden
// CHECK-NEXT:        ringattn.pair q 7, kv 1, full
// CHECK-NEXT:        ringattn.pair q 7, kv 6, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 3
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:    }
// Rank 3 (chunks 3 and 4) sends to rank 0 and receives from rank 2; at step 1
// it holds the shard of rank 2 (chunks 2 and 5).
// CHECK:         ringattn.rank 3 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 3, kv 3, diagonal
// CHECK-NEXT:        ringattn.pair q 3, kv 4, hidden
// CHECK-NEXT:        ringattn.pair q 4, kv 3, full
// CHECK-NEXT:        ringattn.pair q 4, kv 4, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      [[S0:%.+]] = ringattn.send kv_local[0] to 0 hop 0
// CHECK-NEXT:      [[R0:%.+]] = ringattn.recv kv_ring[0] from 2 hop 0
// CHECK-NEXT:      ringattn.wait [[S0]], [[R0]]
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 3, kv 2, full
// CHECK-NEXT:        ringattn.pair q 3, kv 5, hidden
// CHECK-NEXT:        ringattn.pair q 4, kv 2, full
// CHECK-NEXT:        ringattn.pair q 4, kv 5, hidden
// CHECK-NEXT:      }
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK:           ringattn.finalize
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// Contiguous, cp = 3: one chunk per rank; rank 0 sees only hidden pairs after
// step 0, the last rank only visible ones.
// CHECK-LABEL: ringattn.schedule @contig_fwd forward config <cp = 3, seq = 48, heads = 2, kv_heads = 1, head_dim = 8, dtype = fp16, layout = contiguous, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      [[S0:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[R0:%.+]] = ringattn.recv kv_ring[0] from 2 hop 0
// CHECK-NEXT:      ringattn.wait [[S0]], [[R0]]
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 2, hidden
// CHECK-NEXT:      }
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 1, hidden
// CHECK-NEXT:      }
// CHECK:         ringattn.rank 2 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 2, kv 2, diagonal
// CHECK-NEXT:      }
// CHECK:           [[S0:%.+]] = ringattn.send kv_local[0] to 0 hop 0
// CHECK-NEXT:      [[R0:%.+]] = ringattn.recv kv_ring[0] from 1 hop 0
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 2, kv 1, full
// CHECK-NEXT:      }
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q 2, kv 0, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK-NEXT:      ringattn.finalize
ringattn.attention @contig config <cp = 3, seq = 48, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = fp16, layout = contiguous, causal = true>

// cp = 1: one step on the local shard, no transfers.
// CHECK-LABEL: ringattn.schedule @single_fwd forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 0, kv 1, hidden
// CHECK-NEXT:        ringattn.pair q 1, kv 0, full
// CHECK-NEXT:        ringattn.pair q 1, kv 1, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.attention @single config <cp = 1, seq = 16, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// Without the causal mask every pair is full, the diagonal ones included.
// CHECK-LABEL: ringattn.schedule @full_fwd forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, full
// CHECK-NEXT:        ringattn.pair q 0, kv 3, full
// CHECK-NEXT:        ringattn.pair q 3, kv 0, full
// CHECK-NEXT:        ringattn.pair q 3, kv 3, full
// CHECK-NEXT:      }
// CHECK-NOT:       hidden
// CHECK-NOT:       diagonal
// CHECK:           ringattn.rank 1 {
ringattn.attention @full config <cp = 2, seq = 16, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = false>

// Schedules already in the module are left alone.
// CHECK-LABEL: ringattn.schedule @existing forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.finalize
ringattn.schedule @existing forward config <cp = 1, seq = 4, heads = 1,
    kv_heads = 1, head_dim = 4, dtype = bf16, layout = contiguous, causal = false> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, full
    }
    ringattn.finalize
  }
}
