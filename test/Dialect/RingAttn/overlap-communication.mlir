// RUN: ringattn-opt %s --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-derive-backward --ringattn-overlap-communication --ringattn-verify-schedule=report-work=false | FileCheck %s
// The pass is stable on its own output.
// RUN: ringattn-opt %s --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-derive-backward --ringattn-overlap-communication -o %t.once
// RUN: ringattn-opt %t.once --ringattn-overlap-communication -o %t.twice
// RUN: diff %t.once %t.twice

// Waits sink to just before the first op that needs their transfer; posts rise
// to just after the last op they conflict with. With the double-buffered slots
// this posts the K/V hop to step s + 1 (hop s) before the compute of step s,
// and the result still verifies.

// Forward, rank 0 of cp = 4.
// CHECK-LABEL: ringattn.schedule @zz_fwd forward
// CHECK-NEXT:    ringattn.rank 0 {
// Hop 0 is posted before step 0 computes.
// CHECK-NEXT:      [[S0:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[R0:%.+]] = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK:           }
// The receive is waited just before hop 1 sends its slot on; the send of the
// local shard, which nothing overwrites, only at the end.
// CHECK-NEXT:      ringattn.wait [[R0]]
// CHECK-NEXT:      [[S1:%.+]] = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NEXT:      [[R1:%.+]] = ringattn.recv kv_ring[1] from 3 hop 1
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK:           }
// Hop 2 receives into kv_ring[0]: it waits for step 1's read of that slot and
// for hop 1's send from it.
// CHECK-NEXT:      ringattn.wait [[S1]], [[R1]]
// CHECK-NEXT:      [[S2:%.+]] = ringattn.send kv_ring[1] to 1 hop 2
// CHECK-NEXT:      [[R2:%.+]] = ringattn.recv kv_ring[0] from 3 hop 2
// CHECK-NEXT:      ringattn.combine step 1
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK:           }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK-NEXT:      ringattn.wait [[R2]]
// CHECK-NEXT:      ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK:           }
// CHECK-NEXT:      ringattn.combine step 3
// The waits left at the end are merged, in posting order.
// CHECK-NEXT:      ringattn.wait [[S0]], [[S2]]
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:    }

// Backward, rank 0 of cp = 4 (the own shard last).
// CHECK-LABEL: ringattn.schedule @zz_bwd backward
// CHECK-NEXT:    ringattn.rank 0 {
// K/V hop 0 brings the first shard: step 0 waits for it.
// CHECK-NEXT:      [[KS0:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[KR0:%.+]] = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK-NEXT:      ringattn.wait [[KR0]]
// K/V hop 1 is posted before step 0 computes.
// CHECK-NEXT:      [[KS1:%.+]] = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NEXT:      [[KR1:%.+]] = ringattn.recv kv_ring[1] from 3 hop 1
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_ring[0]) dkv(dkv_ring[0]) {
// CHECK:           }
// dK/dV hop 0 needs the accumulator step 0 wrote: it stays after that compute.
// CHECK-NEXT:      [[DS0:%.+]] = ringattn.send dkv_ring[0] to 1 hop 0
// CHECK-NEXT:      [[DR0:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 0
// CHECK-NEXT:      ringattn.wait [[KS1]], [[KR1]]
// CHECK-NEXT:      [[KS2:%.+]] = ringattn.send kv_ring[1] to 1 hop 2
// CHECK-NEXT:      [[KR2:%.+]] = ringattn.recv kv_ring[0] from 3 hop 2
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[1]) dkv(dkv_partial[0]) {
// CHECK:           }
// The arriving accumulator is waited after the kernel, just before the add;
// dK/dV hop 1 sends the sum, so it is not moved above the accumulate.
// CHECK-NEXT:      ringattn.wait [[DR0]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait [[DS0]]
// CHECK-NEXT:      [[DS1:%.+]] = ringattn.send dkv_ring[1] to 1 hop 1
// CHECK-NEXT:      [[DR1:%.+]] = ringattn.recv dkv_ring[0] from 3 hop 1
// CHECK-NEXT:      ringattn.wait [[KR2]]
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_ring[0]) dkv(dkv_partial[0]) {
// CHECK:           }
// CHECK-NEXT:      ringattn.wait [[DR1]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
// CHECK-NEXT:      ringattn.wait [[DS1]]
// The last dK/dV hop brings the own accumulator home while the own shard
// computes: no hop is left after the last kernel.
// CHECK-NEXT:      [[DS2:%.+]] = ringattn.send dkv_ring[0] to 1 hop 2
// CHECK-NEXT:      [[DR2:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 2
// CHECK-NEXT:      ringattn.compute step 3 kv(kv_local[0]) dkv(dkv_partial[0]) {
// CHECK:           }
// CHECK-NEXT:      ringattn.wait [[DR2]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait [[KS0]], [[KS2]], [[DS2]]
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[1])
// CHECK-NEXT:    }
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// A hand-written program: the two waits sink past the unrelated compute and
// combine, the one on the receive stops before the compute that reads its
// slot, and the two left before finalize are merged.
// CHECK-LABEL: ringattn.schedule @hand forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      [[S:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[R:%.+]] = ringattn.recv kv_ring[0] from 1 hop 0
// CHECK-NEXT:      [[D:%.+]] = ringattn.recv kv_ring[1] from 1 hop 1
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// CHECK:           }
// CHECK-NEXT:      ringattn.wait [[R]]
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) combine {
// CHECK:           }
// CHECK-NEXT:      ringattn.wait [[S]], [[D]]
// CHECK-NEXT:      ringattn.finalize
ringattn.schedule @hand forward config <cp = 2, seq = 32, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    %2 = ringattn.recv kv_ring[1] from 1 hop 1
    ringattn.wait %2
    ringattn.wait %1, %0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.finalize
  }
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
    %2 = ringattn.send kv_local[0] to 0 hop 1
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 1, kv 1, diagonal
      ringattn.pair q 2, kv 1, full
      ringattn.pair q 2, kv 2, diagonal
    }
    ringattn.wait %1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %0, %2
    ringattn.finalize
  }
}
