// A dropped chunk pair: rank 1 no longer computes (q 4, kv 3) at step 2, so
// the rows of chunk 4 miss the keys of chunk 3.
// RUN: not ringattn-sim %s --seed 1 | FileCheck %s

// CHECK: @attn_fwd: out error {{.*}} > tolerance 1.00e-10, worst at batch 0, token {{[0-9]+}} (chunk 4, rank 1), head {{[0-9]}}
// CHECK-NEXT: @attn_fwd: lse error {{.*}} > tolerance 1.00e-10, worst at batch 0, token {{[0-9]+}} (chunk 4, rank 1), head {{[0-9]}}
// CHECK-NEXT: @attn_fwd: FAIL (out, lse wrong)
// CHECK-NEXT: FAIL: 1 of 1 schedule failed

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
      ringattn.wait %3
      ringattn.compute step 2 kv(kv_ring[1]) combine {
        ringattn.pair q 4, kv 2, full
        // BROKEN: ringattn.pair q 4, kv 3, full dropped here
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
