// RUN: ringattn-opt %s --ringattn-expand-schedule --ringattn-prune-hidden-pairs | FileCheck %s --implicit-check-not=hidden

// Hidden pairs are erased, then computes left without pairs together with
// their combines; the transfers stay (an idle rank still forwards K/V).

// Zigzag, cp = 4: step 0 keeps the two diagonal pairs and the full one; every
// later step holds exactly two full pairs on every rank: both local q chunks
// against the sender's front chunk while s <= r, then the back q chunk against
// both chunks of the visiting shard. Two units of work per rank and step.
// CHECK-LABEL: ringattn.schedule @zz_fwd forward
// CHECK:         ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 7, kv 0, full
// CHECK-NEXT:        ringattn.pair q 7, kv 7, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 3, full
// CHECK-NEXT:        ringattn.pair q 7, kv 4, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 1
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 2, full
// CHECK-NEXT:        ringattn.pair q 7, kv 5, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 1, full
// CHECK-NEXT:        ringattn.pair q 7, kv 6, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 3
// CHECK:           ringattn.finalize
// CHECK:         ringattn.rank 1 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 1, kv 1, diagonal
// CHECK-NEXT:        ringattn.pair q 6, kv 1, full
// CHECK-NEXT:        ringattn.pair q 6, kv 6, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 1
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 3
// CHECK:           ringattn.finalize
// CHECK:         ringattn.rank 2 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 2, kv 2, diagonal
// CHECK-NEXT:        ringattn.pair q 5, kv 2, full
// CHECK-NEXT:        ringattn.pair q 5, kv 5, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 2, kv 1, full
// CHECK-NEXT:        ringattn.pair q 5, kv 1, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 1
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q 2, kv 0, full
// CHECK-NEXT:        ringattn.pair q 5, kv 0, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 5, kv 3, full
// CHECK-NEXT:        ringattn.pair q 5, kv 4, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 3
// CHECK:           ringattn.finalize
// CHECK:         ringattn.rank 3 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 3, kv 3, diagonal
// CHECK-NEXT:        ringattn.pair q 4, kv 3, full
// CHECK-NEXT:        ringattn.pair q 4, kv 4, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 1
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 2
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:        ringattn.pair q {{[0-7]}}, kv {{[0-7]}}, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 3
// CHECK:           ringattn.finalize
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// Contiguous, cp = 4: rank r sees visible pairs only at steps 0..r. Rank 0
// keeps step 0 alone and forwards the K/V of the other ranks; the last rank
// keeps every step.
// CHECK-LABEL: ringattn.schedule @contig_fwd forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.combine
// CHECK:           {{%.+}} = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.combine
// CHECK:           {{%.+}} = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.combine
// CHECK:           {{%.+}} = ringattn.send kv_ring[1] to 1 hop 2
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.combine
// CHECK:           ringattn.finalize
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 1, kv 0, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 1
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.combine
// CHECK:           ringattn.finalize
// CHECK:         ringattn.rank 3 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK:           ringattn.compute step 2 kv(kv_ring[1]) {
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 3, kv 0, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 3
// CHECK-NEXT:      ringattn.finalize
ringattn.attention @contig config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = contiguous, causal = true>

// A compute holding only hidden pairs goes with its combine, wherever the
// combine stands; a compute with a visible pair left keeps it.
// CHECK-LABEL: ringattn.schedule @hand forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      [[S:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[R:%.+]] = ringattn.recv kv_ring[0] from 1 hop 0
// CHECK-NEXT:      ringattn.wait [[S]], [[R]]
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:    }
ringattn.schedule @hand forward config <cp = 2, seq = 16, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = contiguous, causal = true> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
    }
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.wait %0, %1
    ringattn.compute step 1 kv(kv_ring[0]) {
      ringattn.pair q 0, kv 1, hidden
    }
    ringattn.combine step 0
    ringattn.combine step 1
    ringattn.finalize
  }
  ringattn.rank 1 {
    ringattn.finalize
  }
}
