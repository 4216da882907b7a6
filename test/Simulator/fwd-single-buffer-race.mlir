// A race the overlap pass could introduce: rank 0 receives K/V hop 1 into
// kv_ring[0], the slot step 1 is about to read (one buffer instead of two).
// The executor names the race (the receive overwrites the slot that hop 1's
// send is still reading), and the receive poisons the slot when it is posted,
// so step 1 reads NaN.
// RUN: not ringattn-sim %s --seed 1 | FileCheck %s

// CHECK: @attn_fwd: issue: rank 0: 'recv kv_ring[0] from 2 (hop 1)' overwrites kv_ring[0] while 'send kv_ring[0] to 1 (hop 1)' has not been waited
// CHECK-NEXT: @attn_fwd: out error nan > tolerance 1.00e-10, first NaN at batch 0, token 40 (chunk 5, rank 0), head 0
// CHECK-NEXT: @attn_fwd: lse error nan
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
      // BROKEN: receives into kv_ring[0], not kv_ring[1]
      %3 = ringattn.recv kv_ring[0] from 2 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) combine {
        ringattn.pair q 5, kv 2, full
        ringattn.pair q 5, kv 3, full
      }
      ringattn.wait %3
      ringattn.compute step 2 kv(kv_ring[0]) combine {
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
