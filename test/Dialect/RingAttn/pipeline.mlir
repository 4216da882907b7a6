// RUN: ringattn-opt %s --ringattn-schedule-pipeline | FileCheck %s --implicit-check-not=ringattn.attention --implicit-check-not=ringattn.combine --implicit-check-not=hidden
// The pipeline ends with the verifier: its output verifies again.
// RUN: ringattn-opt %s --ringattn-schedule-pipeline | ringattn-opt --ringattn-verify-schedule=report-work=false -o /dev/null

// The seed's case, cp = 4 zigzag, end to end: expand, prune hidden pairs,
// derive the backward schedule, overlap communication, fuse the combine, and
// verify. The attention becomes a forward and a backward schedule; every K/V
// hop is posted before the compute of the step it overlaps; every forward
// kernel combines in its epilogue; no hidden pair is left.

// CHECK-LABEL: ringattn.schedule @attn_fwd forward config <cp = 4, seq = 32768, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      {{%.+}} = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      {{%.+}} = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 7, kv 0, full
// CHECK-NEXT:        ringattn.pair q 7, kv 7, diagonal
// CHECK-NEXT:      }
// CHECK:           {{%.+}} = ringattn.send kv_ring[0] to 1 hop 1
// CHECK-NEXT:      {{%.+}} = ringattn.recv kv_ring[1] from 3 hop 1
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) combine {
// CHECK:           {{%.+}} = ringattn.send kv_ring[1] to 1 hop 2
// CHECK-NEXT:      {{%.+}} = ringattn.recv kv_ring[0] from 3 hop 2
// CHECK-NEXT:      ringattn.compute step 2 kv(kv_ring[1]) combine {
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) combine {
// CHECK:           ringattn.finalize{{$}}
// CHECK:         ringattn.rank 3 {
// CHECK:           ringattn.compute step 3 kv(kv_ring[0]) combine {
// CHECK-NEXT:        ringattn.pair q 3, kv 0, full
// CHECK-NEXT:        ringattn.pair q 4, kv 0, full
// CHECK-NEXT:      }
// CHECK:           ringattn.finalize{{$}}

// CHECK-LABEL: ringattn.schedule @attn_bwd backward config <cp = 4, seq = 32768, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      {{%.+}} = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      {{%.+}} = ringattn.recv kv_ring[0] from 3 hop 0
// CHECK:           ringattn.compute step 0 kv(kv_ring[0]) dkv(dkv_ring[0]) {
// CHECK:           [[DS:%.+]] = ringattn.send dkv_ring[0] to 1 hop 0
// CHECK-NEXT:      [[DR:%.+]] = ringattn.recv dkv_ring[1] from 3 hop 0
// CHECK:           ringattn.compute step 1 kv(kv_ring[1]) dkv(dkv_partial[0]) {
// CHECK:           ringattn.wait [[DR]]
// CHECK-NEXT:      ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK:           {{%.+}} = ringattn.send dkv_ring[0] to 1 hop 2
// CHECK-NEXT:      {{%.+}} = ringattn.recv dkv_ring[1] from 3 hop 2
// CHECK-NEXT:      ringattn.compute step 3 kv(kv_local[0]) dkv(dkv_partial[0]) {
// CHECK:           ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK-NEXT:      ringattn.wait
// CHECK-NEXT:      ringattn.finalize dkv(dkv_ring[1])
// CHECK:         ringattn.rank 3 {
// CHECK:           ringattn.finalize dkv(dkv_ring[1])
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.attention @attn config <cp = 4, seq = 32768, heads = 32, kv_heads = 4,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
