// RUN: ringattn-opt %s -o %t.ref
// RUN: ringattn-opt %s -canonicalize -cse -o %t.opt
// RUN: diff %t.ref %t.opt
// RUN: ringattn-opt %s -canonicalize -cse | FileCheck %s

// Generic passes must neither drop nor reorder nor merge anything of a
// schedule: every schedule op declares that it reads and writes the ring
// buffers. The output of -canonicalize -cse is identical to the round trip.

// The schedule pipeline's output for cp = 2 (zigzag), forward and backward.
// CHECK-LABEL: ringattn.schedule @a_fwd forward
// CHECK-COUNT-2: ringattn.finalize{{$}}
// CHECK-LABEL: ringattn.schedule @a_bwd backward
// CHECK-COUNT-2: ringattn.finalize dkv(dkv_ring[0])
ringattn.schedule @a_fwd forward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    ringattn.wait %1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %0
    ringattn.finalize
  }
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
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
    ringattn.wait %0
    ringattn.finalize
  }
}
ringattn.schedule @a_bwd backward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    %2 = ringattn.send dkv_ring[0] to 1 hop 0
    %3 = ringattn.recv dkv_ring[1] from 1 hop 0
    ringattn.wait %1
    ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %3
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %0, %4, %5
    ringattn.finalize dkv(dkv_ring[0])
  }
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      ringattn.pair q 1, kv 1, diagonal
      ringattn.pair q 2, kv 1, full
      ringattn.pair q 2, kv 2, diagonal
    }
    %2 = ringattn.send dkv_ring[0] to 0 hop 0
    %3 = ringattn.recv dkv_ring[1] from 0 hop 0
    ringattn.wait %1
    ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %3
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 0 hop 1
    %5 = ringattn.recv dkv_ring[0] from 0 hop 1
    ringattn.wait %0, %4, %5
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// Ops that would tempt CSE and DCE if they were pure: a post whose handle is
// never used, two identical posts, identical waits, combines, pairs and
// computes. (This schedule is not a correct ring; the verifier of the
// dialect accepts it and only --ringattn-verify-schedule would object.)
// CHECK-LABEL: ringattn.schedule @tempting forward
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      {{%.+}} = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[A:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[B:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      ringattn.wait [[A]]
// CHECK-NEXT:      ringattn.wait [[A]]
// CHECK-NEXT:      ringattn.wait [[B]]
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) {
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK-NEXT:    }
ringattn.schedule @tempting forward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %unused = ringattn.send kv_local[0] to 1 hop 0
    %a = ringattn.send kv_local[0] to 1 hop 0
    %b = ringattn.send kv_local[0] to 1 hop 0
    ringattn.wait %a
    ringattn.wait %a
    ringattn.wait %b
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 0, kv 0, diagonal
    }
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 0, kv 0, diagonal
    }
    ringattn.compute step 1 kv(kv_ring[0]) {
    }
    ringattn.combine step 0
    ringattn.combine step 0
    ringattn.finalize
    ringattn.finalize
  }
  ringattn.rank 1 {
  }
}
