// A removed wait: rank 2 posts the receive of dK/dV hop 1 into dkv_ring[0]
// without waiting for hop 0's send out of that slot. The send reads its source
// only when it completes, after the receive has poisoned it, so rank 0 gets NaN
// for the accumulator of rank 2's shard.
// RUN: not ringattn-sim %s --seed 1 | FileCheck %s

// CHECK: @attn_bwd: issue: rank 2: 'recv dkv_ring[0] from 1 (hop 1)' overwrites dkv_ring[0] while 'send dkv_ring[0] to 0 (hop 0)' has not been waited
// CHECK-NEXT: @attn_bwd: issue: rank 2: 'accumulate dkv_partial[0] into dkv_ring[0]' overwrites dkv_ring[0] while 'send dkv_ring[0] to 0 (hop 0)' has not been waited
// CHECK-NEXT: @attn_bwd: issue: rank 2: 'send dkv_ring[0] to 0 (hop 0)' is never waited
// CHECK-NEXT: @attn_bwd: dq error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @attn_bwd: dk error nan > tolerance 1.00e-10, first NaN at batch 0, token 16 (chunk 2, rank 2), kv head 0
// CHECK-NEXT: @attn_bwd: dv error nan > tolerance 1.00e-10, first NaN at batch 0, token 16 (chunk 2, rank 2), kv head 0
// CHECK-NEXT: @attn_bwd: FAIL (dk, dv wrong; 3 issues)

module {
  ringattn.schedule @attn_bwd backward config <cp = 3, seq = 48, heads = 4, kv_heads = 2, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
    ringattn.rank 0 {
      %0 = ringattn.send kv_local[0] to 1 hop 0
      %1 = ringattn.recv kv_ring[0] from 2 hop 0
      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
        ringattn.pair q 0, kv 0, diagonal
        ringattn.pair q 5, kv 0, full
        ringattn.pair q 5, kv 5, diagonal
      }
      %2 = ringattn.send dkv_ring[0] to 1 hop 0
      %3 = ringattn.recv dkv_ring[1] from 2 hop 0
      ringattn.wait %1
      %4 = ringattn.send kv_ring[0] to 1 hop 1
      %5 = ringattn.recv kv_ring[1] from 2 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
        ringattn.pair q 5, kv 2, full
        ringattn.pair q 5, kv 3, full
      }
      ringattn.wait %3
      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
      ringattn.wait %2
      %6 = ringattn.send dkv_ring[1] to 1 hop 1
      %7 = ringattn.recv dkv_ring[0] from 2 hop 1
      ringattn.wait %5
      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
        ringattn.pair q 5, kv 1, full
        ringattn.pair q 5, kv 4, full
      }
      ringattn.wait %7
      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
      ringattn.wait %6
      %8 = ringattn.send dkv_ring[0] to 1 hop 2
      %9 = ringattn.recv dkv_ring[1] from 2 hop 2
      ringattn.wait %8, %9, %4, %0
      ringattn.finalize dkv(dkv_ring[1])
    }
    ringattn.rank 1 {
      %0 = ringattn.send kv_local[0] to 2 hop 0
      %1 = ringattn.recv kv_ring[0] from 0 hop 0
      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
        ringattn.pair q 1, kv 1, diagonal
        ringattn.pair q 4, kv 1, full
        ringattn.pair q 4, kv 4, diagonal
      }
      %2 = ringattn.send dkv_ring[0] to 2 hop 0
      %3 = ringattn.recv dkv_ring[1] from 0 hop 0
      ringattn.wait %1
      %4 = ringattn.send kv_ring[0] to 2 hop 1
      %5 = ringattn.recv kv_ring[1] from 0 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
        ringattn.pair q 1, kv 0, full
        ringattn.pair q 4, kv 0, full
      }
      ringattn.wait %3
      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
      ringattn.wait %2
      %6 = ringattn.send dkv_ring[1] to 2 hop 1
      %7 = ringattn.recv dkv_ring[0] from 0 hop 1
      ringattn.wait %5
      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
        ringattn.pair q 4, kv 2, full
        ringattn.pair q 4, kv 3, full
      }
      ringattn.wait %7
      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
      ringattn.wait %6
      %8 = ringattn.send dkv_ring[0] to 2 hop 2
      %9 = ringattn.recv dkv_ring[1] from 0 hop 2
      ringattn.wait %8, %9, %4, %0
      ringattn.finalize dkv(dkv_ring[1])
    }
    ringattn.rank 2 {
      %0 = ringattn.send kv_local[0] to 0 hop 0
      %1 = ringattn.recv kv_ring[0] from 1 hop 0
      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
        ringattn.pair q 2, kv 2, diagonal
        ringattn.pair q 3, kv 2, full
        ringattn.pair q 3, kv 3, diagonal
      }
      %2 = ringattn.send dkv_ring[0] to 0 hop 0
      %3 = ringattn.recv dkv_ring[1] from 1 hop 0
      ringattn.wait %1
      %4 = ringattn.send kv_ring[0] to 0 hop 1
      %5 = ringattn.recv kv_ring[1] from 1 hop 1
      ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
        ringattn.pair q 2, kv 1, full
        ringattn.pair q 3, kv 1, full
      }
      ringattn.wait %3
      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
      // BROKEN: ringattn.wait %2 removed here
      %6 = ringattn.send dkv_ring[1] to 0 hop 1
      %7 = ringattn.recv dkv_ring[0] from 1 hop 1
      ringattn.wait %5
      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
        ringattn.pair q 2, kv 0, full
        ringattn.pair q 3, kv 0, full
      }
      ringattn.wait %7
      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
      ringattn.wait %6
      %8 = ringattn.send dkv_ring[0] to 0 hop 2
      %9 = ringattn.recv dkv_ring[1] from 1 hop 2
      ringattn.wait %8, %9, %4, %0
      ringattn.finalize dkv(dkv_ring[1])
    }
  }
}

