// RUN: ringattn-opt %s -split-input-file -verify-diagnostics --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-derive-backward | FileCheck %s

// The backward schedule recomputes the forward's pairs; dQ stays local and
// an fp32 dK/dV accumulator per K/V shard travels the ring collecting every
// rank's partial. In the zigzag layout each accumulator ends at its owner:
// step s recomputes the forward's step (s+1) % cp, so a rank sees the shards
// of ranks r-1, r-2, ... first and its own last; step 0 writes the
// accumulator of rank r-1's shard into dkv_ring[0], every later step writes
// dkv_partial[0] and adds it into the accumulator that arrived,
// dkv_ring[s % 2]; after cp-1 dK/dV hops the own shard's accumulator is home
// for the last step's add, and finalize reads it. (No overlap yet: the
// overlap pass moves the posts and waits.)

// The forward schedule stays as it is.
// CHECK-LABEL: ringattn.schedule @zz_fwd forward
// CHECK-NOT:     dkv
// CHECK-LABEL: ringattn.schedule @zz_bwd backward config <cp = 4, seq = 64, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// K/V hop 0 brings rank 3's shard before anything computes.
// CHECK-NEXT:      [[KS0:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[KR0:%.+]] = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK-NEXT:      ringattn.wait [[KS0]], [[KR0]]
// Step 0 starts rank 3's accumulator (the forward's step-1 pairs).
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_ring[0]) dkv(dkv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 3, full
// CHECK-NEXT:        ringattn.pair q 7, kv 4, full
// CHECK-NEXT:      }
// CHECK-NEXT:      [[KS1:%.+]] = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NEXT:      [[KR1:%.+]] = ringattn.recv kv_ring[1] from 3 hop 1
// CHECK-NEXT:      ringattn.wait [[KS1]], [[KR1]]
// CHECK-NEXT:      [[DS0:%.+]] = ringattn.send dkv_ring[0] to 1 hop 0
// CHECK-NEXT:      [[DR0:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 0
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[1]) dkv(dkv_partial[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 2, full
// CHECK-NEXT:        ringattn.pair q 7, kv 5, full
// CHECK-NEXT:      }
// CHECK-NEXT:      [[KS2:%.+]] = ringattn.send kv_ring[1] to 1 hop 2
// CHECK-NEXT:      [[KR2:%.+]] = ringattn.recv kv_ring[0] from 3 hop 2
// CHECK-NEXT:      ringattn.wait [[KS2]], [[KR2]]
// CHECK-NEXT:      ringattn.wait [[DR0]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait [[DS0]]
// CHECK-NEXT:      [[DS1:%.+]] = ringattn.send dkv_ring[1] to 1 hop 1
// CHECK-NEXT:      [[DR1:%.+]] = ringattn.recv dkv_ring[0] from 3 hop 1
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_ring[0]) dkv(dkv_partial[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 1, full
// CHECK-NEXT:        ringattn.pair q 7, kv 6, full
// CHECK-NEXT:      }
// No K/V hop after the last remote shard: the own one is local.
// CHECK-NEXT:      ringattn.wait [[DR1]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
// CHECK-NEXT:      ringattn.wait [[DS1]]
// dK/dV hop 2 (the last) brings rank 0's own accumulator home ahead of the
// last step.
// CHECK-NEXT:      [[DS2:%.+]] = ringattn.send dkv_ring[0] to 1 hop 2
// CHECK-NEXT:      [[DR2:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 2
// CHECK-NEXT:      ringattn.compute step 3 kv(kv_local[0]) dkv(dkv_partial[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 7, kv 0, full
// CHECK-NEXT:        ringattn.pair q 7, kv 7, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.wait [[DR2]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait [[DS2]]
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[1])
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK-NEXT:      {{%.+}} = ringattn.send kv_local[0] to 2 hop 0
// CHECK-NEXT:      {{%.+}} = ringattn.recv kv_ring[0] from 0 hop 0
// CHECK:           ringattn.compute step 0 kv(kv_ring[0]) dkv(dkv_ring[0]) {
// CHECK:           {{%.+}} = ringattn.send dkv_ring[0] to 2 hop 0
// CHECK-NEXT:      {{%.+}} = ringattn.recv dkv_ring[1] from 0 hop 0
// CHECK:           ringattn.finalize dkv(dkv_ring[1])
// CHECK:         ringattn.rank 3 {
// CHECK:           ringattn.finalize dkv(dkv_ring[1])
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// cp = 3: an odd ring; two dK/dV hops, the own accumulator home in
// dkv_ring[(3 - 1) % 2] for the last step.
// CHECK-LABEL: ringattn.schedule @odd_bwd backward
// CHECK:         ringattn.rank 0 {
// CHECK:           {{%.+}} = ringattn.send dkv_ring[1] to 1 hop 1
// CHECK-NEXT:      {{%.+}} = ringattn.recv dkv_ring[0] from 2 hop 1
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_local[0]) dkv(dkv_partial[0]) {
// CHECK:           ringattn.accumulate dkv_partial[0] into dkv_ring[0]
// CHECK-NEXT:      ringattn.wait
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[0])
ringattn.attention @odd config <cp = 3, seq = 48, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// Causal contiguous: rank 0 computes only its own shard, so the accumulators
// start at their owners (step s recomputes the forward's step s) and come
// home after cp hops; a rank that computes nothing at a step still forwards
// the accumulator it receives, without an accumulate.
// CHECK-LABEL: ringattn.schedule @contig_bwd backward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:      }
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.accumulate
// CHECK:           [[DS:%.+]] = ringattn.send dkv_ring[1] to 1 hop 1
// CHECK-NOT:       ringattn.compute
// CHECK-NOT:       ringattn.accumulate
// CHECK:           ringattn.finalize dkv(dkv_ring[0])
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK:           ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
// CHECK-NEXT:        ringattn.pair q 1, kv 0, full
// CHECK-NEXT:      }
// CHECK:           ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NOT:       ringattn.accumulate
// CHECK:           ringattn.finalize dkv(dkv_ring[0])
ringattn.attention @contig config <cp = 2, seq = 32, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = contiguous, causal = true>

// -----

// cp = 1: the accumulator never leaves the rank; no transfers at all.
// CHECK-LABEL: ringattn.schedule @single_bwd backward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 1, kv 0, full
// CHECK-NEXT:        ringattn.pair q 1, kv 1, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[0])
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.attention @single config <cp = 1, seq = 16, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// An existing @x_bwd is kept and not duplicated; a forward schedule whose name
// does not end in _fwd gets _bwd appended.
// CHECK-LABEL: ringattn.schedule @x_fwd forward
// CHECK-LABEL: ringattn.schedule @x_bwd backward
// CHECK-SAME:    {kept}
// CHECK-NOT:     @x_bwd
// CHECK-LABEL: ringattn.schedule @plain forward
// CHECK-LABEL: ringattn.schedule @plain_bwd backward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[0])
// CHECK-NOT:     @x_bwd
ringattn.schedule @x_fwd forward config <cp = 1, seq = 4, heads = 1,
    kv_heads = 1, head_dim = 4, dtype = bf16, layout = contiguous, causal = false> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, full
    }
    ringattn.finalize
  }
}
ringattn.schedule @x_bwd backward config <cp = 1, seq = 4, heads = 1,
    kv_heads = 1, head_dim = 4, dtype = bf16, layout = contiguous, causal = false> attributes {kept} {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      ringattn.pair q 0, kv 0, full
    }
    ringattn.finalize dkv(dkv_ring[0])
  }
}
ringattn.schedule @plain forward config <cp = 1, seq = 4, heads = 1,
    kv_heads = 1, head_dim = 4, dtype = bf16, layout = contiguous, causal = false> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, full
    }
    ringattn.finalize
  }
}

// -----

// Rank 0 computes nothing at step 1, so accumulators start at their owners;
// rank 1 computes nothing at step 0, so its accumulator has no start.
ringattn.schedule @gap_fwd forward config <cp = 2, seq = 8, heads = 1,
    kv_heads = 1, head_dim = 4, dtype = bf16, layout = contiguous, causal = false> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, full
    }
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.wait %0, %1
    ringattn.finalize
  }
  // expected-error @+1 {{'ringattn.rank' op computes nothing at step 0, so its dK/dV accumulator has no start}}
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
    ringattn.wait %0, %1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 1, kv 1, full
    }
    ringattn.finalize
  }
}
