// A skipped dK/dV hop: no rank passes its accumulator on at hop 1 (posts and
// waits removed on every rank). Nothing is NaN and the protocol is clean, but
// step 2 adds its partial into a stale accumulator of the wrong shard, so
// every dK and dV is wrong; dQ never travels and stays right.
// RUN: not ringattn-sim %s --seed 1 | FileCheck %s

// CHECK-NOT: issue
// CHECK: @attn_bwd: dq error {{[0-9.]+e-1[0-9]$}}
// CHECK-NEXT: @attn_bwd: dk error {{[0-9.]+e[-+][0-9]+}} > tolerance 1.00e-10, worst at
// CHECK-NEXT: @attn_bwd: dv error {{[0-9.]+e[-+][0-9]+}} > tolerance 1.00e-10, worst at
// CHECK-NEXT: @attn_bwd: FAIL (dk, dv wrong)

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
      // BROKEN: dK/dV hop 1 (send, recv, waits) removed here
      ringattn.wait %5
      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
        ringattn.pair q 5, kv 1, full
        ringattn.pair q 5, kv 4, full
      }
      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
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
      // BROKEN: dK/dV hop 1 (send, recv, waits) removed here
      ringattn.wait %5
      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
        ringattn.pair q 4, kv 2, full
        ringattn.pair q 4, kv 3, full
      }
      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
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
      ringattn.wait %2
      // BROKEN: dK/dV hop 1 (send, recv, waits) removed here
      ringattn.wait %5
      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
        ringattn.pair q 2, kv 0, full
        ringattn.pair q 3, kv 0, full
      }
      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
      %8 = ringattn.send dkv_ring[0] to 0 hop 2
      %9 = ringattn.recv dkv_ring[1] from 1 hop 2
      ringattn.wait %8, %9, %4, %0
      ringattn.finalize dkv(dkv_ring[1])
    }
  }
}

