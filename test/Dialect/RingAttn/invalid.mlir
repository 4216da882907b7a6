// RUN: ringattn-opt %s -split-input-file -verify-diagnostics

// One expected-error for every verifier message of the ringattn dialect
// (RingAttnDialect.cpp, RingAttnOps.cpp) and for the parse errors of its
// custom directives. RankOp's "rank N out of range" check cannot fire: the
// enclosing schedule's check of the rank order rejects such a rank first (see
// the "found 3" case below).

//===----------------------------------------------------------------------===//
// #ringattn.config: every rule of AttentionConfig::validate
//===----------------------------------------------------------------------===//

// expected-error @+1 {{invalid ring-attention config: cp: must be at least 1 (got 0)}}
ringattn.attention @a config <cp = 0, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: seq: must be at least 1 (got 0)}}
ringattn.attention @a config <cp = 2, seq = 0, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: heads: must be at least 1 (got -2)}}
ringattn.attention @a config <cp = 2, seq = 32, heads = -2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: kv_heads: must be at least 1 (got 0)}}
ringattn.attention @a config <cp = 2, seq = 32, heads = 2, kv_heads = 0, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: kv_heads: must divide heads (6 % 4 != 0)}}
ringattn.attention @a config <cp = 2, seq = 32, heads = 6, kv_heads = 4, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: head_dim: must be at least 1 (got 0)}}
ringattn.attention @a config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 0, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: seq: the zigzag layout needs seq divisible by 2*cp = 8 (got 36)}}
ringattn.attention @a config <cp = 4, seq = 36, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// 2*cp does not fit in int64_t (UndefinedBehaviorSanitizer reported the
// multiplication, here and for ringattn-gen --cp 4611686018427387904).
// expected-error @+1 {{invalid ring-attention config: seq: the zigzag layout needs seq divisible by 2*cp = 9223372036854775808 (got 64)}}
ringattn.attention @a config <cp = 4611686018427387904, seq = 64, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+1 {{invalid ring-attention config: seq: the contiguous layout needs seq divisible by cp = 3 (got 32)}}
ringattn.attention @a config <cp = 3, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = contiguous, causal = true>

// -----

// The same verifier guards the attribute written on its own.
// expected-error @+1 {{invalid ring-attention config: cp: must be at least 1 (got -1)}}
ringattn.attention @a config #ringattn.config<cp = -1, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// expected-error @+2 {{expected 'true' or 'false'}}
// expected-error @+1 {{failed to parse RingAttn_ConfigAttr parameter 'causal'}}
ringattn.attention @a config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = yes>

// -----

// expected-error @+2 {{expected ::mlir::ringattn::DType to be one of: bf16, fp16, fp32}}
// expected-error @+1 {{failed to parse RingAttn_ConfigAttr parameter 'dtype'}}
ringattn.attention @a config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = fp8, layout = zigzag, causal = true>

// -----

// expected-error @+2 {{expected ::mlir::ringattn::Layout to be one of: zigzag, contiguous}}
// expected-error @+1 {{failed to parse RingAttn_ConfigAttr parameter 'layout'}}
ringattn.attention @a config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = striped, causal = true>

//===----------------------------------------------------------------------===//
// #ringattn<buffer ...> and the custom directives
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{kv_local has a single slot, 0 (got 1)}}
    %0 = ringattn.send kv_local[1] to 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{dkv_partial has a single slot, 0 (got 1)}}
    ringattn.accumulate dkv_partial[1] into dkv_ring[0]
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{kv_ring slot 4 out of range [0, 4)}}
    %0 = ringattn.recv kv_ring[4] from 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

// expected-error @+1 {{dkv_ring slot 7 out of range [0, 4)}}
ringattn.attention @a config <cp = 1, seq = 2, heads = 1, kv_heads = 1, head_dim = 1, dtype = bf16, layout = zigzag, causal = true> {buffer = #ringattn<buffer dkv_ring[7]>}

// -----

// expected-error @+2 {{buffer slot -2 out of range}}
// expected-error @+1 {{failed to parse RingAttn_BufferAttr parameter 'slot'}}
ringattn.attention @a config <cp = 1, seq = 2, heads = 1, kv_heads = 1, head_dim = 1, dtype = bf16, layout = zigzag, causal = true> {buffer = #ringattn<buffer kv_local[-2]>}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{unknown buffer kind 'kv_remote'}}
    %0 = ringattn.send kv_remote[0] to 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{buffer slot -1 out of range}}
    %0 = ringattn.recv kv_ring[-1] from 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{unknown keyword 'upper'}}
      ringattn.pair q 0, kv 0, upper
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
// expected-error @+1 {{unknown keyword 'sideways'}}
ringattn.schedule @s sideways config #c {
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{expected '('}}
    ringattn.compute step 0 kv(kv_local[0]) dkv dkv_ring[0] {
    }
  }
  ringattn.rank 1 {}
}

//===----------------------------------------------------------------------===//
// ringattn.schedule
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
// expected-error @+1 {{'ringattn.schedule' op may only hold 'ringattn.rank' ops, found 'ringattn.attention'}}
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {}
  ringattn.attention @inner config #c
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
// expected-error @+1 {{'ringattn.schedule' op expects rank programs 0..1 in order; found rank 1 where rank 0 belongs}}
ringattn.schedule @s forward config #c {
  ringattn.rank 1 {}
  ringattn.rank 0 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
// expected-error @+1 {{'ringattn.schedule' op expects rank programs 0..1 in order; found rank -1 where rank 1 belongs}}
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {}
  ringattn.rank -1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
// expected-error @+1 {{'ringattn.schedule' op expects 2 rank programs (cp = 2), found 1}}
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {}
}

// -----

// A rank op without its 'rank' attribute (the generic form) is reported by
// its own verifier; the schedule's, which runs first, must not read it
// (found by the IR fuzzer: a null attribute dereference).
#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  // expected-error @+1 {{'ringattn.rank' op requires attribute 'rank'}}
  "ringattn.rank"() <{id = 0 : i64}> ({
  }) : () -> ()
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  // expected-error @+1 {{'ringattn.rank' op attribute 'rank' failed to satisfy constraint: 64-bit signless integer attribute}}
  "ringattn.rank"() <{rank = 0 : i128}> ({
  }) : () -> ()
  ringattn.rank 1 {}
}

// -----

// A rank beyond cp - 1 (here rank 2 of cp = 2) is caught as a count mismatch.
#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
// expected-error @+1 {{'ringattn.schedule' op expects 2 rank programs (cp = 2), found 3}}
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {}
  ringattn.rank 1 {}
  ringattn.rank 2 {}
}

// -----

// expected-error @+1 {{'ringattn.rank' op expects parent op 'ringattn.schedule'}}
ringattn.rank 0 {}

// -----

#c = #ringattn.config<cp = 1, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  // expected-error @+1 {{'ringattn.rank' op may only hold ring schedule ops (send, recv, wait, compute, combine, accumulate, finalize), found 'ringattn.attention'}}
  ringattn.rank 0 {
    ringattn.attention @inner config #c
    ringattn.finalize
  }
}

//===----------------------------------------------------------------------===//
// ringattn.send / ringattn.recv
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 1, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.send' op a ring of one rank (cp = 1) has no transfers}}
    %0 = ringattn.send kv_local[0] to 0 hop 0
  }
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.send' op peer 2 out of range [0, 2)}}
    %0 = ringattn.send kv_local[0] to 2 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.recv' op peer -1 out of range [0, 2)}}
    %0 = ringattn.recv kv_ring[0] from -1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {}
  ringattn.rank 1 {
    // expected-error @+1 {{'ringattn.recv' op rank 1 cannot transfer to itself}}
    %0 = ringattn.recv kv_ring[0] from 1 hop 0
  }
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.send' op hop 2 out of range [0, 2)}}
    %0 = ringattn.send kv_local[0] to 1 hop 2
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.send' op a forward schedule has no dK/dV transfers (buffer dkv_ring)}}
    %0 = ringattn.send dkv_ring[0] to 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.send' op cannot send dkv_partial: only a ring accumulator (dkv_ring) travels}}
    %0 = ringattn.send dkv_partial[0] to 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.recv' op can only receive into a ring slot (kv_ring or dkv_ring), not kv_local}}
    %0 = ringattn.recv kv_local[0] from 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.recv' op can only receive into a ring slot (kv_ring or dkv_ring), not dkv_partial}}
    %0 = ringattn.recv dkv_partial[0] from 1 hop 0
  }
  ringattn.rank 1 {}
}

// -----

// expected-error @+1 {{'ringattn.send' op expects parent op 'ringattn.rank'}}
%0 = ringattn.send kv_local[0] to 1 hop 0

//===----------------------------------------------------------------------===//
// ringattn.wait
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.wait' op needs at least one transfer}}
    ringattn.wait
  }
  ringattn.rank 1 {}
}

// -----

// A transfer handle that no post of the rank defines: the parser keeps ranks
// apart (a rank cannot name another rank's values), so the generic form with
// a block argument is the way to hand a wait a foreign handle.
#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  "ringattn.rank"() <{rank = 0 : i64}> ({
  ^bb0(%t: !ringattn.transfer):
    // expected-error @+1 {{'ringattn.wait' op waits only on transfers posted by the same rank program}}
    ringattn.wait %t
  }) : () -> ()
  ringattn.rank 1 {}
}

//===----------------------------------------------------------------------===//
// ringattn.compute
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op step 2 out of range [0, 2)}}
    ringattn.compute step 2 kv(kv_local[0]) {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op step -1 out of range [0, 2)}}
    ringattn.compute step -1 kv(kv_local[0]) {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op reads K/V from kv_local or kv_ring, not dkv_ring}}
    ringattn.compute step 0 kv(dkv_ring[0]) dkv(dkv_partial[0]) {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op of a forward schedule has no dkv output}}
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op of a backward schedule needs a dkv output}}
    ringattn.compute step 0 kv(kv_local[0]) {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op writes dK/dV to dkv_partial or dkv_ring, not kv_ring}}
    ringattn.compute step 0 kv(kv_local[0]) dkv(kv_ring[0]) {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op 'combine' is a forward epilogue}}
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) combine {
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.compute' op may only hold 'ringattn.pair' ops, found 'ringattn.combine'}}
    ringattn.compute step 0 kv(kv_local[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.combine step 0
    }
  }
  ringattn.rank 1 {}
}

//===----------------------------------------------------------------------===//
// ringattn.pair
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op q chunk 4 out of range [0, 4)}}
      ringattn.pair q 4, kv 0, full
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op q chunk -1 out of range [0, 4)}}
      ringattn.pair q -1, kv 0, full
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = contiguous, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op kv chunk 2 out of range [0, 2)}}
      ringattn.pair q 0, kv 2, hidden
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op q chunk 1 is not held by rank 0 (it holds chunks 0 and 3)}}
      ringattn.pair q 1, kv 0, full
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = contiguous, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {}
  ringattn.rank 1 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op q chunk 0 is not held by rank 1 (it holds chunk 1)}}
      ringattn.pair q 0, kv 0, diagonal
    }
  }
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op a diagonal pair needs q == kv (got q 3, kv 0)}}
      ringattn.pair q 3, kv 0, diagonal
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = false>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op a non-causal schedule has only full pairs (got diagonal)}}
      ringattn.pair q 0, kv 0, diagonal
    }
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    ringattn.compute step 0 kv(kv_local[0]) {
      // expected-error @+1 {{'ringattn.pair' op pair (q 3, kv 3) of a causal schedule must be diagonal, not full}}
      ringattn.pair q 3, kv 3, full
    }
  }
  ringattn.rank 1 {}
}

//===----------------------------------------------------------------------===//
// ringattn.combine, ringattn.accumulate, ringattn.finalize
//===----------------------------------------------------------------------===//

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.combine' op belongs to forward schedules}}
    ringattn.combine step 0
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.combine' op step 5 out of range [0, 2)}}
    ringattn.combine step 5
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.accumulate' op belongs to backward schedules}}
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.accumulate' op adds from dkv_partial, not dkv_ring}}
    ringattn.accumulate dkv_ring[0] into dkv_ring[1]
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.accumulate' op adds into a dkv_ring accumulator, not kv_ring}}
    ringattn.accumulate dkv_partial[0] into kv_ring[1]
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s forward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.finalize' op of a forward schedule takes no dkv}}
    ringattn.finalize dkv(dkv_ring[0])
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.finalize' op of a backward schedule needs the dkv accumulator that came home}}
    ringattn.finalize
  }
  ringattn.rank 1 {}
}

// -----

#c = #ringattn.config<cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true>
ringattn.schedule @s backward config #c {
  ringattn.rank 0 {
    // expected-error @+1 {{'ringattn.finalize' op reads dK/dV from a dkv_ring slot, not dkv_partial}}
    ringattn.finalize dkv(dkv_partial[0])
  }
  ringattn.rank 1 {}
}
