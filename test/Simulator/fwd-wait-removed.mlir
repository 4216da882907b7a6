// A removed wait: rank 1 computes step 2 on kv_ring[1] while its receive is
// still in flight; the slot is poisoned from the post on, so chunk 4 is NaN.
// RUN: not ringattn-sim %s --seed 1 | FileCheck %s

// CHECK: @attn_fwd: issue: rank 1: 'recv kv_ring[1] from 0 (hop 1)' is never waited
// CHECK-NEXT: @attn_fwd: out error nan > tolerance 1.00e-10, first NaN at batch 0, token 32 (chunk 4, rank 1), head 0
// CHECK-NEXT: @attn_fwd: lse error nan > tolerance 1.00e-10, first NaN at batch 0, token 32 (chunk 4, rank 1), head 0
// CHECK-NEXT: @attn_fwd: FAIL (out, lse wrong; 1 issue)

module {
  ringattn.schedule @attn_fwd forward config <cp = 3, seq = 48, heads = 4, kv_heads = 2, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
    ringattn.rank 0 {
      %0 = ringattn.send kv_local[0] to 1 hop 0
      %1 = ringattn.recv kv_ring[0] from 2 hop 0
      ringattn.compute step 0 kv(kv_local[0]) combine {
        ringattn.pair q 0, kv 0, diagonal
        ringattn.pair q 5, kv 0, full
        ringattn.pair q 5, kv 5, diagonal
      }
      ringattn.wait %1
      %2 = ringattn.send kv_ring[0] to 1 hop 1
      %3 = ringattn.recv kv_ring[1] from 2 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) combine {
        ringattn.pair q 5, kv 2, full
        ringattn.pair q 5, kv 3, full
      }
      ringattn.wait %3
      ringattn.compute step 2 kv(kv_ring[1]) combine {
        ringattn.pair q 5, kv 1, full
        ringattn.pair q 5, kv 4, full
      }
      ringattn.wait %2, %0
      ringattn.finalize
    }
    ringattn.rank 1 {
      %0 = ringattn.send kv_local[0] to 2 hop 0
      %1 = ringattn.recv kv_ring[0] from 0 hop 0
      ringattn.compute step 0 kv(kv_local[0]) combine {
        ringattn.pair q 1, kv 1, diagonal
        ringattn.pair q 4, kv 1, full
        ringattn.pair q 4, kv 4, diagonal
      }
      ringattn.wait %1
      %2 = ringattn.send kv_ring[0] to 2 hop 1
      %3 = ringattn.recv kv_ring[1] from 0 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) combine {
        ringattn.pair q 1, kv 0, full
        ringattn.pair q 4, kv 0, full
      }
      // BROKEN: ringattn.wait %3 removed here
      ringattn.compute step 2 kv(kv_ring[1]) combine {
        ringattn.pair q 4, kv 2, full
        ringattn.pair q 4, kv 3, full
      }
      ringattn.wait %2, %0
      ringattn.finalize
    }
    ringattn.rank 2 {
      %0 = ringattn.send kv_local[0] to 0 hop 0
      %1 = ringattn.recv kv_ring[0] from 1 hop 0
      ringattn.compute step 0 kv(kv_local[0]) combine {
        ringattn.pair q 2, kv 2, diagonal
        ringattn.pair q 3, kv 2, full
        ringattn.pair q 3, kv 3, diagonal
      }
      ringattn.wait %1
      %2 = ringattn.send kv_ring[0] to 0 hop 1
      %3 = ringattn.recv kv_ring[1] from 1 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) combine {
        ringattn.pair q 2, kv 1, full
        ringattn.pair q 3, kv 1, full
      }
      ringattn.wait %3
      ringattn.compute step 2 kv(kv_ring[1]) combine {
        ringattn.pair q 2, kv 0, full
        ringattn.pair q 3, kv 0, full
      }
      ringattn.wait %2, %0
      ringattn.finalize
    }
  }
}
