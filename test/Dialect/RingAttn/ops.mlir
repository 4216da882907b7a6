// RUN: ringattn-opt %s | ringattn-opt | FileCheck %s
// RUN: ringattn-opt %s --mlir-print-op-generic | ringattn-opt | FileCheck %s
// RUN: ringattn-opt %s --mlir-print-op-generic | FileCheck %s --check-prefix=GENERIC

// Round trip of every op, attribute and type of the ringattn dialect, in the
// custom and in the generic form.

// CHECK-LABEL: ringattn.attention @attn config <cp = 4, seq = 32768, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>
// GENERIC: "ringattn.attention"() <{config = #ringattn.config<cp = 4, seq = 32768, heads = 32, kv_heads = 4, head_dim = 128, dtype = bf16, layout = zigzag, causal = true>, sym_name = "attn"}>
ringattn.attention @attn config <cp = 4, seq = 32768, heads = 32, kv_heads = 4,
    head_dim = 128, dtype = bf16, layout = zigzag, causal = true>

// CHECK-LABEL: ringattn.attention @other
// CHECK-SAME: dtype = fp32, layout = contiguous, causal = false>
// CHECK-SAME: {note = "kept"}
ringattn.attention @other config <cp = 3, seq = 99, heads = 6, kv_heads = 6,
    head_dim = 5, dtype = fp32, layout = contiguous, causal = false> {note = "kept"}

// CHECK-LABEL: ringattn.schedule @fwd forward config <cp = 2, seq = 64, heads = 2, kv_heads = 1, head_dim = 8, dtype = fp16, layout = zigzag, causal = true> {
// CHECK-NEXT:    ringattn.rank 0 {
// CHECK-NEXT:      [[SEND:%.+]] = ringattn.send kv_local[0] to 1 hop 0
// CHECK-NEXT:      [[RECV:%.+]] = ringattn.recv kv_ring[0] from 1 hop 0
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, diagonal
// CHECK-NEXT:        ringattn.pair q 0, kv 3, hidden
// CHECK-NEXT:        ringattn.pair q 3, kv 0, full
// CHECK-NEXT:        ringattn.pair q 3, kv 3, diagonal
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.combine step 0
// CHECK-NEXT:      ringattn.wait [[RECV]]
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) combine {
// CHECK-NEXT:        ringattn.pair q 3, kv 1, full
// CHECK-NEXT:        ringattn.pair q 3, kv 2, full
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.wait [[SEND]]
// CHECK-NEXT:      ringattn.finalize
// CHECK-NEXT:    }
// CHECK-NEXT:    ringattn.rank 1 {
// CHECK:           ringattn.wait {{%.+}}, {{%.+}} {note}
// CHECK-NEXT:      ringattn.compute step 1 kv(kv_ring[0]) combine {
// CHECK:           ringattn.finalize{{$}}
// CHECK-NEXT:    }
// CHECK-NEXT:  }
ringattn.schedule @fwd forward config <cp = 2, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = fp16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 0, kv 3, hidden
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    ringattn.combine step 0
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
    ringattn.wait %1, %0 {note}
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 2, kv 0, full
    }
    ringattn.finalize
  }
}

// CHECK-LABEL: ringattn.schedule @bwd backward config <cp = 2, seq = 64, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
// CHECK:         ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
// CHECK:         [[DSEND:%.+]] = ringattn.send dkv_ring[0] to 1 hop 0
// CHECK-NEXT:    [[DRECV:%.+]] = ringattn.recv dkv_ring[1] from 1 hop 0
// CHECK:         ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
// CHECK:         ringattn.wait [[DRECV]]
// CHECK-NEXT:    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
// CHECK:         ringattn.finalize dkv(dkv_ring[0])
// CHECK:       ringattn.rank 1 {
ringattn.schedule @bwd backward config <cp = 2, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
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

// A non-causal contiguous ring of one rank: only full pairs, no transfers.
// CHECK-LABEL: ringattn.schedule @single forward
// CHECK-SAME:    layout = contiguous, causal = false> attributes {note = 1 : i64} {
// CHECK-NEXT:    ringattn.rank 0 attributes {note} {
// CHECK-NEXT:      ringattn.compute step 0 kv(kv_local[0]) combine attributes {note} {
// CHECK-NEXT:        ringattn.pair q 0, kv 0, full {note}
// CHECK-NEXT:      }
// CHECK-NEXT:      ringattn.finalize {note}
ringattn.schedule @single forward config <cp = 1, seq = 7, heads = 1, kv_heads = 1,
    head_dim = 3, dtype = bf16, layout = contiguous, causal = false>
    attributes {note = 1} {
  ringattn.rank 0 attributes {note} {
    ringattn.compute step 0 kv(kv_local[0]) combine attributes {note} {
      ringattn.pair q 0, kv 0, full {note}
    }
    ringattn.finalize {note}
  }
}

// Attributes and the transfer type on their own.
// CHECK-LABEL: ringattn.attention @with_attrs
// CHECK-SAME: buffer = #ringattn<buffer dkv_ring[3]>
// CHECK-SAME: direction = #ringattn<direction backward>
// CHECK-SAME: dtype = #ringattn<dtype fp16>
// CHECK-SAME: layout = #ringattn<layout contiguous>
// CHECK-SAME: mask = #ringattn<mask hidden>
// CHECK-SAME: type = !ringattn.transfer
ringattn.attention @with_attrs config <cp = 1, seq = 1, heads = 1, kv_heads = 1,
    head_dim = 1, dtype = bf16, layout = contiguous, causal = true> {
  buffer = #ringattn<buffer dkv_ring[3]>,
  direction = #ringattn<direction backward>,
  dtype = #ringattn<dtype fp16>,
  layout = #ringattn<layout contiguous>,
  mask = #ringattn<mask hidden>,
  type = !ringattn.transfer
}

// The generic form spells out the attributes and the transfer type.
// GENERIC-LABEL: "ringattn.schedule"()
// GENERIC-SAME:    direction = #ringattn<direction forward>
// GENERIC-SAME:    sym_name = "fwd"
// GENERIC:         "ringattn.rank"() <{rank = 0 : i64}>
// GENERIC-NEXT:    %{{.+}} = "ringattn.send"() <{buffer = #ringattn<buffer kv_local[0]>, hop = 0 : i64, peer = 1 : i64}> : () -> !ringattn.transfer
// GENERIC-NEXT:    %{{.+}} = "ringattn.recv"() <{buffer = #ringattn<buffer kv_ring[0]>, hop = 0 : i64, peer = 1 : i64}> : () -> !ringattn.transfer
// GENERIC-NEXT:    "ringattn.compute"() <{kv = #ringattn<buffer kv_local[0]>, step = 0 : i64}>
// GENERIC-NEXT:    "ringattn.pair"() <{kv = 0 : i64, mask = #ringattn<mask diagonal>, q = 0 : i64}>
// GENERIC:         "ringattn.combine"() <{step = 0 : i64}>
// GENERIC:         "ringattn.wait"(%{{.+}}) : (!ringattn.transfer) -> ()
// GENERIC:         "ringattn.compute"() <{combine, kv = #ringattn<buffer kv_ring[0]>, step = 1 : i64}>
// GENERIC:         "ringattn.finalize"() : () -> ()
// GENERIC-LABEL: "ringattn.schedule"()
// GENERIC-SAME:    direction = #ringattn<direction backward>
// GENERIC:         "ringattn.compute"() <{dkv = #ringattn<buffer dkv_ring[0]>, kv = #ringattn<buffer kv_local[0]>, step = 0 : i64}>
// GENERIC:         "ringattn.accumulate"() <{dst = #ringattn<buffer dkv_ring[1]>, src = #ringattn<buffer dkv_partial[0]>}>
// GENERIC:         "ringattn.finalize"() <{dkv = #ringattn<buffer dkv_ring[0]>}>
