// RUN: ringattn-opt %s -split-input-file -verify-diagnostics --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-derive-backward | FileCheck %s

// The backward schedule recomputes the forward's pairs step by step; K/V
// travels the same hops again, and the fp32 dK/dV accumulator of each shard
// travels one hop behind it: step 0 writes the rank's own accumulator into
// dkv_ring[0], every later step writes dkv_partial[0] and adds it into the
// accumulator that arrived, dkv_ring[s % 2]. After cp dK/dV hops the
// accumulator is home and finalize reads it. (No overlap yet: the overlap
// pass moves the posts and waits.)

// The forward schedule stays as it is.
// CHECK-LABEL: ringattn.schedule @zz_fwd forward
// CHECK-NOT:     dkv
// CHECK-LABEL: ringattn.schedule @zz_bwd backward config <cp = 4, seq = 64, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 7, kv 0, full
// CHECK-NEXT:        ringattn.pair q 7, kv 7, diagonal
// CHECK-NEXT:      }
// K/V hop 0, then dK/dV hop 0 carries rank 0's accumulator to rank 1.
// CHECK-NEXT:      [[KS0:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[KR0:%.+]] = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK-NEXT:      ringattn.wait [[KS0]], [[KR0]]
// CHECK-NEXT:      [[DS0:%.+]] = ringattn.send dkv_ring[0] to 1 hop 0
// CHECK-NEXT:      [[DR0:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 0
// Step 1: the partial of rank 3's shard goes into rank 3's accumulator.
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 3, full
// CHECK-NEXT:        ringattn.pair q 7, kv 4, full
// CHECK-NEXT:      }
// CHECK-NEXT:      [[KS1:%.+]] = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NEXT:      [[KR1:%.+]] = ringattn.recv kv_ring[1] from 3 hop 1
// CHECK-NEXT:      ringattn.wait [[KS1]], [[KR1]]
// CHECK-NEXT:      ringattn.wait [[DR0]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait [[DS0]]
// CHECK-NEXT:      [[DS1:%.+]] = ringattn.send dkv_ring[1] to 1 hop 1
// CHECK-NEXT:      [[DR1:%.+]] = ringattn.recv dkv_ring[0] from 3 hop 1
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_ring[1]) dkv(dkv_partial[0]) {
// CHECK:           ringattn.wait [[DR1]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[0]
// CHECK-NEXT:      ringattn.wait [[DS1]]
// CHECK-NEXT:      [[DS2:%.+]] = ringattn.send dkv_ring[0] to 1 hop 2
// CHECK-NEXT:      [[DR2:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 2
// The last step has no K/V hop after it.
// CHECK-NEXT:      ringattn.compute step 3 kv(kv_ring[0]) dkv(dkv_partial[0]) {
// CHECK-NEXT:        ringattn.pair q 7, kv 1, full
// CHECK-NEXT:        ringattn.pair q 7, kv 6, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.wait [[DR2]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait [[DS2]]
// dK/dV hop 3 (the cp-th) brings rank 0's own accumulator home.
// CHECK-NEXT:      [[DS3:%.+]] = ringattn.send dkv_ring[1] to 1 hop 3
// CHECK-NEXT:      [[DR3:%.+]] = ringattn.recv dkv_ring[0] from 3 hop 3
// CHECK-NEXT:      ringattn.wait [[DR3]], [[DS3]]
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[0])
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
// CHECK:           {{%.+}} = ringattn.send dkv_ring[0] to 2 hop 0
// CHECK-NEXT:      {{%.+}} = ringattn.recv dkv_ring[1] from 0 hop 0
// CHECK:           ringattn.finalize dkv(dkv_ring[0])
// CHECK:         ringattn.rank 3 {
// CHECK:           ringattn.finalize dkv(dkv_ring[0])
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// cp = 3: an odd ring; the accumulator comes home in dkv_ring[3 % 2].
// CHECK-LABEL: ringattn.schedule @odd_bwd backward
// CHECK:         ringattn.rank 0 {
// CHECK:           {{%.+}} = ringattn.send dkv_ring[0] to 1 hop 2
// CHECK-NEXT:      {{%.+}} = ringattn.recv dkv_ring[1] from 2 hop 2
// CHECK-NEXT:      ringattn.wait
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[1])
ringattn.attention @odd config <cp = 3, seq = 48, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// Contiguous: a rank that computes nothing at a step still forwards the
// accumulator it receives, without an accumulate.
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

// The accumulator of a rank starts at its step-0 compute; a rank without one
// cannot be derived.
ringattn.schedule @gap_fwd forward config <cp = 2, seq = 8, heads = 1,
    kv_heads = 1, head_dim = 4, dtype = bf16, layout = contiguous, causal = false> {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, full
    }
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.wait %0, %1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 0, kv 1, full
    }
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
