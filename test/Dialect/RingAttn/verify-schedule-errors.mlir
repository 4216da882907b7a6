// RUN: ringattn-opt %s -split-input-file -verify-diagnostics --ringattn-verify-schedule=report-work=false

// Hand-broken schedules for the schedule checker behind
// --ringattn-verify-schedule (ScheduleChecker.cpp, RingExecutor.cpp). Each case
// is the output of --ringattn-schedule-pipeline for a zigzag attention of 16
// tokens per rank (cp = 2 or 3, heads 2, kv_heads 1, head_dim 8) with one thing
// changed; it triggers one checker error, plus the errors that follow from it
// where the change also loses or misplaces gradients. The cases cover every
// error message of the checker but one: the deadlock fallback "an earlier NCCL
// group of it, or of its peer, never completes" is unreachable, since a rank
// blocks only on a transfer that is unmatched or matched behind a group, and
// both have their own message.

// A visible pair no rank computes: rank 0 drops (q 3, kv 1) at step 1.
// expected-error @below {{pair (q 3, kv 1) is never computed (rank 0 holds q chunk 3)}}
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

// -----

// A pair computed twice: rank 0 repeats (q 3, kv 2) at step 1.
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
      // expected-error @below {{rank 0, step 1: pair (q 3, kv 2) is computed again (first at rank 0, step 1)}}
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

// -----

// A pair above the causal diagonal: rank 1 computes (q 1, kv 3) as full.
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
      // expected-error @below {{rank 1, step 1: pair (q 1, kv 3) lies above the causal diagonal}}
      ringattn.pair q 1, kv 3, full
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %0
    ringattn.finalize
  }
}

// -----

// A compute reads a slot whose receive is in flight: rank 0 waits for hop 0
// only at the end.
ringattn.schedule @a_fwd forward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    // expected-error @below {{rank 0, step 1: reads kv_ring[0] while a receive into it is in flight (not yet waited)}}
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %0, %1
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

// -----

// A compute reads a slot that holds nothing: rank 0 reads kv_ring[1] at step 1.
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
    // expected-error @below {{rank 0, step 1: reads kv_ring[1], which holds no K/V shard}}
    ringattn.compute step 1 kv(kv_ring[1]) combine {
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

// -----

// A transfer never waited: rank 0 drops the wait of its hop-0 send.
ringattn.schedule @a_fwd forward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    // expected-error @below {{rank 0: 'send kv_local[0] to 1 (hop 0)' is never waited}}
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

// -----

// A transfer waited twice: rank 0 waits for its hop-0 send again.
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
    // expected-error @below {{rank 0: 'send kv_local[0] to 1 (hop 0)' is waited twice}}
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

// -----

// A transfer never matched: rank 0 posts a second send that rank 1 never
// receives (and does not wait for it).
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
    // expected-error @below {{rank 0: 'send kv_local[0] to 1 (hop 1)' is never matched by rank 1}}
    %2 = ringattn.send kv_local[0] to 1 hop 1
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

// -----

// A deadlock: rank 0 waits for a receive that rank 1 never sends.
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
    %2 = ringattn.recv kv_ring[1] from 1 hop 1
    // expected-error @below {{rank 0: deadlock: rank 0 blocks forever at a wait: 'recv kv_ring[1] from 1 (hop 1)' is never matched by rank 1}}
    ringattn.wait %2
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

// -----

// A combine without a partial: rank 0 combines step 1 before computing it.
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
    // expected-error @below {{rank 0, step 1: combine has no computed partial of step 1}}
    ringattn.combine step 1
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

// -----

// A partial combined twice: rank 0 combines the fused step 0 again.
ringattn.schedule @a_fwd forward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    // expected-error @below {{rank 0, step 0: the partial of step 0 is combined twice}}
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
    ringattn.wait %1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %0
    ringattn.finalize
  }
}

// -----

// A partial never combined: rank 0 loses the fused combine of step 1.
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
    ringattn.compute step 1 kv(kv_ring[0]) {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %0
    // expected-error @below {{rank 0, step 1: the partial of step 1 is never combined}}
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

// -----

// A step computed twice: rank 0 launches an (empty) second kernel for step 1.
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
    // expected-error @below {{rank 0, step 1: step 1 is computed a second time}}
    ringattn.compute step 1 kv(kv_ring[0]) combine {
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

// -----

// A rank that never finalizes: rank 1 drops its finalize.
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
    // expected-error @below {{rank 1 never finalizes}}
    ringattn.wait %0
  }
}

// -----

// A rank that finalizes twice.
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
    // expected-error @below {{rank 1 finalizes twice}}
    ringattn.finalize
  }
}

// -----

// An empty rank program (cp = 1, written by hand): the errors that it never
// finalizes and that its pairs are never computed stand at the schedule.
// expected-error @below {{rank 0 never finalizes}}
// expected-error @below {{pair (q 0, kv 0) is never computed (rank 0 holds q chunk 0)}}
// expected-error @below {{pair (q 1, kv 0) is never computed (rank 0 holds q chunk 1)}}
// expected-error @below {{pair (q 1, kv 1) is never computed (rank 0 holds q chunk 1)}}
ringattn.schedule @a_fwd forward config <cp = 1, seq = 16, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
  }
}

// -----

// Pairs read a slot that holds another rank's shard: at step 2 rank 0 reads
// kv_ring[0], which still holds the shard of step 1 (rank 2), not kv_ring[1].
ringattn.schedule @a_fwd forward config <cp = 3, seq = 48, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 2 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 5, kv 0, full
      ringattn.pair q 5, kv 5, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 1 hop 1
    %3 = ringattn.recv kv_ring[1] from 2 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 5, kv 2, full
      ringattn.pair q 5, kv 3, full
    }
    ringattn.wait %3
    ringattn.compute step 2 kv(kv_ring[0]) combine {
      // expected-error @below {{rank 0, step 2: pair (q 5, kv 1) reads kv_ring[0], which holds the K/V of rank 2 (chunks 2 and 3)}}
      ringattn.pair q 5, kv 1, full
      // expected-error @below {{rank 0, step 2: pair (q 5, kv 4) reads kv_ring[0], which holds the K/V of rank 2 (chunks 2 and 3)}}
      ringattn.pair q 5, kv 4, full
    }
    ringattn.wait %2, %0
    ringattn.finalize
  }
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 2 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 1, kv 1, diagonal
      ringattn.pair q 4, kv 1, full
      ringattn.pair q 4, kv 4, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 2 hop 1
    %3 = ringattn.recv kv_ring[1] from 0 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 4, kv 0, full
    }
    ringattn.wait %3
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 4, kv 2, full
      ringattn.pair q 4, kv 3, full
    }
    ringattn.wait %2, %0
    ringattn.finalize
  }
  ringattn.rank 2 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 2, kv 2, diagonal
      ringattn.pair q 3, kv 2, full
      ringattn.pair q 3, kv 3, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 0 hop 1
    %3 = ringattn.recv kv_ring[1] from 1 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 2, kv 1, full
      ringattn.pair q 3, kv 1, full
    }
    ringattn.wait %3
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 2, kv 0, full
      ringattn.pair q 3, kv 0, full
    }
    ringattn.wait %2, %0
    ringattn.finalize
  }
}

// -----

// A deadlock behind a group: after its first compute rank 0 posts, as a group
// of its own, a receive from rank 1, which never sends to it. Its later
// groups, and the transfers of the other ranks matched with them, wait behind
// that group forever.
ringattn.schedule @a_fwd forward config <cp = 3, seq = 48, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 2 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 5, kv 0, full
      ringattn.pair q 5, kv 5, diagonal
    }
    %extra = ringattn.recv kv_ring[2] from 1 hop 0
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 1 hop 1
    %3 = ringattn.recv kv_ring[1] from 2 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 5, kv 2, full
      ringattn.pair q 5, kv 3, full
    }
    // expected-error @below {{rank 0: deadlock: rank 0 blocks forever at a wait: 'recv kv_ring[1] from 2 (hop 1)' waits behind a group that never completes}}
    ringattn.wait %3
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 5, kv 1, full
      ringattn.pair q 5, kv 4, full
    }
    ringattn.wait %2, %0
    ringattn.finalize
  }
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 2 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 1, kv 1, diagonal
      ringattn.pair q 4, kv 1, full
      ringattn.pair q 4, kv 4, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 2 hop 1
    %3 = ringattn.recv kv_ring[1] from 0 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 4, kv 0, full
    }
    // expected-error @below {{rank 1: deadlock: rank 1 blocks forever at a wait: 'recv kv_ring[1] from 0 (hop 1)' waits behind a group that never completes}}
    ringattn.wait %3
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 4, kv 2, full
      ringattn.pair q 4, kv 3, full
    }
    ringattn.wait %2, %0
    ringattn.finalize
  }
  ringattn.rank 2 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 2, kv 2, diagonal
      ringattn.pair q 3, kv 2, full
      ringattn.pair q 3, kv 3, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 0 hop 1
    %3 = ringattn.recv kv_ring[1] from 1 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 2, kv 1, full
      ringattn.pair q 3, kv 1, full
    }
    ringattn.wait %3
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 2, kv 0, full
      ringattn.pair q 3, kv 0, full
    }
    // expected-error @below {{rank 2: deadlock: rank 2 blocks forever at a wait: 'send kv_ring[0] to 0 (hop 1)' waits behind a group that never completes}}
    ringattn.wait %2, %0
    ringattn.finalize
  }
}

// -----

// A K/V send matched with a dK/dV receive: rank 0 sends its shard again and
// rank 1 posts a dK/dV receive, the fourth of each between them.
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
    // expected-error @below {{rank 0: rank 0's 'send kv_local[0] to 1 (hop 1)' is matched by rank 1's 'recv dkv_ring[2] from 0 (hop 1)': sends and receives between two ranks match in posting order, and these carry different data}}
    %6 = ringattn.send kv_local[0] to 1 hop 1
    ringattn.wait %4, %5, %0, %6
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
    %6 = ringattn.recv dkv_ring[2] from 0 hop 1
    ringattn.wait %4, %5, %0, %6
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// An accumulate from an empty partial: rank 0 adds dkv_partial[0] before any
// compute wrote it.
ringattn.schedule @a_bwd backward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    // expected-error @below {{rank 0: 'accumulate dkv_partial[0] into dkv_ring[0]' adds from dkv_partial[0], which holds no partial}}
    ringattn.accumulate dkv_partial[0] into dkv_ring[0]
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
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// An accumulate into a slot whose receive is in flight: rank 0 waits for the
// arriving accumulator only after the add; the partial is lost.
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
      // expected-error @below {{dK/dV of pair (q 3, kv 1), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 1, full
      // expected-error @below {{dK/dV of pair (q 3, kv 2), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 2, full
    }
    // expected-error @below {{rank 0: 'accumulate dkv_partial[0] into dkv_ring[1]' adds into dkv_ring[1] while its receive is in flight (not yet waited)}}
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2, %3
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// An accumulate into an empty slot: rank 0 also adds into dkv_ring[2].
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
    // expected-error @below {{rank 0: 'accumulate dkv_partial[0] into dkv_ring[2]' adds into dkv_ring[2], which holds no accumulator}}
    ringattn.accumulate dkv_partial[0] into dkv_ring[2]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// An accumulate into another shard's accumulator: rank 0 adds the partial of
// rank 1's shard into its own accumulator (dkv_ring[0]) instead of the one that
// arrived (dkv_ring[1]).
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
      // expected-error @below {{dK/dV of pair (q 3, kv 1), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 1, full
      // expected-error @below {{dK/dV of pair (q 3, kv 2), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %3
    // expected-error @below {{rank 0: 'accumulate dkv_partial[0] into dkv_ring[0]' adds the partial of rank 1's shard into the accumulator of rank 0's shard}}
    // expected-error @below {{rank 0: 'accumulate dkv_partial[0] into dkv_ring[0]' overwrites dkv_ring[0] while 'send dkv_ring[0] to 1 (hop 0)' has not been waited}}
    ringattn.accumulate dkv_partial[0] into dkv_ring[0]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// A finalize of a slot whose receive is in flight: rank 0 waits for the
// accumulator coming home only after finalize.
ringattn.schedule @a_bwd backward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      // expected-error @below {{dK/dV of pair (q 0, kv 0), computed at rank 0, step 0, never reaches rank 0}}
      ringattn.pair q 0, kv 0, diagonal
      // expected-error @below {{dK/dV of pair (q 3, kv 0), computed at rank 0, step 0, never reaches rank 0}}
      ringattn.pair q 3, kv 0, full
      // expected-error @below {{dK/dV of pair (q 3, kv 3), computed at rank 0, step 0, never reaches rank 0}}
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
    ringattn.wait %4, %0
    // expected-error @below {{rank 0 finalizes dkv_ring[0] while its receive is in flight (not yet waited)}}
    ringattn.finalize dkv(dkv_ring[0])
    ringattn.wait %5
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
      // expected-error @below {{dK/dV of pair (q 1, kv 0), computed at rank 1, step 1, never reaches rank 0}}
      ringattn.pair q 1, kv 0, full
      // expected-error @below {{dK/dV of pair (q 2, kv 0), computed at rank 1, step 1, never reaches rank 0}}
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %3
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 0 hop 1
    %5 = ringattn.recv dkv_ring[0] from 0 hop 1
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// A finalize of an empty slot.
ringattn.schedule @a_bwd backward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      // expected-error @below {{dK/dV of pair (q 0, kv 0), computed at rank 0, step 0, never reaches rank 0}}
      ringattn.pair q 0, kv 0, diagonal
      // expected-error @below {{dK/dV of pair (q 3, kv 0), computed at rank 0, step 0, never reaches rank 0}}
      ringattn.pair q 3, kv 0, full
      // expected-error @below {{dK/dV of pair (q 3, kv 3), computed at rank 0, step 0, never reaches rank 0}}
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
    ringattn.wait %4, %5, %0
    // expected-error @below {{rank 0 finalizes dkv_ring[2], which holds no accumulator}}
    ringattn.finalize dkv(dkv_ring[2])
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
      // expected-error @below {{dK/dV of pair (q 1, kv 0), computed at rank 1, step 1, never reaches rank 0}}
      ringattn.pair q 1, kv 0, full
      // expected-error @below {{dK/dV of pair (q 2, kv 0), computed at rank 1, step 1, never reaches rank 0}}
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %3
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 0 hop 1
    %5 = ringattn.recv dkv_ring[0] from 0 hop 1
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// A finalize of another rank's accumulator: rank 0 finalizes dkv_ring[1],
// which it sent on to rank 1.
ringattn.schedule @a_bwd backward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      // expected-error @below {{dK/dV of pair (q 0, kv 0), computed at rank 0, step 0, never reaches rank 0}}
      ringattn.pair q 0, kv 0, diagonal
      // expected-error @below {{dK/dV of pair (q 3, kv 0), computed at rank 0, step 0, never reaches rank 0}}
      ringattn.pair q 3, kv 0, full
      // expected-error @below {{dK/dV of pair (q 3, kv 3), computed at rank 0, step 0, never reaches rank 0}}
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
    ringattn.wait %4, %5, %0
    // expected-error @below {{rank 0 finalizes dkv_ring[1], which holds the accumulator of rank 1's shard}}
    ringattn.finalize dkv(dkv_ring[1])
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
      // expected-error @below {{dK/dV of pair (q 1, kv 0), computed at rank 1, step 1, never reaches rank 0}}
      ringattn.pair q 1, kv 0, full
      // expected-error @below {{dK/dV of pair (q 2, kv 0), computed at rank 1, step 1, never reaches rank 0}}
      ringattn.pair q 2, kv 0, full
    }
    ringattn.wait %3
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 0 hop 1
    %5 = ringattn.recv dkv_ring[0] from 0 hop 1
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// dK/dV contributions that never reach their owner: rank 0 drops its
// accumulate.
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
      // expected-error @below {{dK/dV of pair (q 3, kv 1), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 1, full
      // expected-error @below {{dK/dV of pair (q 3, kv 2), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %3
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// dK/dV contributions that reach their owner twice: rank 0 adds its partial
// twice.
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
      // expected-error @below {{dK/dV of pair (q 3, kv 1), computed at rank 0, step 1, reaches rank 1 2 times}}
      ringattn.pair q 3, kv 1, full
      // expected-error @below {{dK/dV of pair (q 3, kv 2), computed at rank 0, step 1, reaches rank 1 2 times}}
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %3
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// A backward compute writes a slot whose receive is in flight: rank 0 writes
// the partial of step 1 into dkv_ring[1], where dK/dV hop 0 is arriving.
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
    // expected-error @below {{rank 0, step 1: writes dkv_ring[1] while a receive into it is in flight (not yet waited)}}
    ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_ring[1]) {
      // expected-error @below {{dK/dV of pair (q 3, kv 1), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 1, full
      // expected-error @below {{dK/dV of pair (q 3, kv 2), computed at rank 0, step 1, never reaches rank 1}}
      ringattn.pair q 3, kv 2, full
    }
    ringattn.wait %3
    // expected-error @below {{rank 0: 'accumulate dkv_partial[0] into dkv_ring[1]' adds from dkv_partial[0], which holds no partial}}
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// A compute waits on a dK/dV hop posted after the previous compute: rank 0
// waits for the arriving accumulator before the kernel of step 1.
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
    ringattn.wait %1, %3
    // expected-error @below {{rank 0, step 1: the compute waits on 'recv dkv_ring[1] from 1 (hop 0)', posted after the compute of step 0: a dK/dV hop must overlap a whole kernel}}
    ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// The same with no earlier compute: rank 0 posts and waits for the dK/dV
// receive before the kernel of step 0.
ringattn.schedule @a_bwd backward config <cp = 2, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    %3 = ringattn.recv dkv_ring[1] from 1 hop 0
    ringattn.wait %3
    // expected-error @below {{rank 0, step 0: the compute waits on 'recv dkv_ring[1] from 1 (hop 0)', posted after no earlier compute: a dK/dV hop must overlap a whole kernel}}
    ringattn.compute step 0 kv(kv_local[0]) dkv(dkv_ring[0]) {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 3, kv 3, diagonal
    }
    %2 = ringattn.send dkv_ring[0] to 1 hop 0
    ringattn.wait %1
    ringattn.compute step 1 kv(kv_ring[0]) dkv(dkv_partial[0]) {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 3, kv 2, full
    }
    ringattn.accumulate dkv_partial[0] into dkv_ring[1]
    ringattn.wait %2
    %4 = ringattn.send dkv_ring[1] to 1 hop 1
    %5 = ringattn.recv dkv_ring[0] from 1 hop 1
    ringattn.wait %4, %5, %0
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
    ringattn.wait %4, %5, %0
    ringattn.finalize dkv(dkv_ring[0])
  }
}

// -----

// A receive posted into a slot whose send has not been waited (rank 0 waits
// for its hop-1 send only at the end): the send may still read the slot. The
// first error names the cause, on the rank that did it; the garbage it sends
// on shows up downstream.
ringattn.schedule @attn_fwd forward config <cp = 4, seq = 32, heads = 2, kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
  ringattn.rank 0 {
    %0 = ringattn.send kv_local[0] to 1 hop 0
    %1 = ringattn.recv kv_ring[0] from 3 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 0, kv 0, diagonal
      ringattn.pair q 7, kv 0, full
      ringattn.pair q 7, kv 7, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 1 hop 1
    %3 = ringattn.recv kv_ring[1] from 3 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 7, kv 3, full
      ringattn.pair q 7, kv 4, full
    }
    ringattn.wait %3
    %4 = ringattn.send kv_ring[1] to 1 hop 2
    // expected-error @below {{rank 0: 'recv kv_ring[0] from 3 (hop 2)' overwrites kv_ring[0] while 'send kv_ring[0] to 1 (hop 1)' has not been waited}}
    %5 = ringattn.recv kv_ring[0] from 3 hop 2
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 7, kv 2, full
      ringattn.pair q 7, kv 5, full
    }
    ringattn.wait %5
    ringattn.compute step 3 kv(kv_ring[0]) combine {
      ringattn.pair q 7, kv 1, full
      ringattn.pair q 7, kv 6, full
    }
    ringattn.wait %0, %4, %2
    ringattn.finalize
  }
  ringattn.rank 1 {
    %0 = ringattn.send kv_local[0] to 2 hop 0
    %1 = ringattn.recv kv_ring[0] from 0 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 1, kv 1, diagonal
      ringattn.pair q 6, kv 1, full
      ringattn.pair q 6, kv 6, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 2 hop 1
    %3 = ringattn.recv kv_ring[1] from 0 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 1, kv 0, full
      ringattn.pair q 6, kv 0, full
    }
    ringattn.wait %2, %3
    %4 = ringattn.send kv_ring[1] to 2 hop 2
    %5 = ringattn.recv kv_ring[0] from 0 hop 2
    // expected-error @below {{rank 1, step 2: reads kv_ring[1] while a receive into it is in flight (not yet waited)}}
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 6, kv 3, full
      ringattn.pair q 6, kv 4, full
    }
    ringattn.wait %5
    ringattn.compute step 3 kv(kv_ring[0]) combine {
      ringattn.pair q 6, kv 2, full
      ringattn.pair q 6, kv 5, full
    }
    ringattn.wait %0, %4
    ringattn.finalize
  }
  ringattn.rank 2 {
    %0 = ringattn.send kv_local[0] to 3 hop 0
    %1 = ringattn.recv kv_ring[0] from 1 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 2, kv 2, diagonal
      ringattn.pair q 5, kv 2, full
      ringattn.pair q 5, kv 5, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 3 hop 1
    %3 = ringattn.recv kv_ring[1] from 1 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 2, kv 1, full
      ringattn.pair q 5, kv 1, full
    }
    ringattn.wait %2, %3
    %4 = ringattn.send kv_ring[1] to 3 hop 2
    %5 = ringattn.recv kv_ring[0] from 1 hop 2
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 2, kv 0, full
      ringattn.pair q 5, kv 0, full
    }
    ringattn.wait %5
    // expected-error @below {{rank 2, step 3: reads kv_ring[0] while a receive into it is in flight (not yet waited)}}
    ringattn.compute step 3 kv(kv_ring[0]) combine {
      ringattn.pair q 5, kv 3, full
      ringattn.pair q 5, kv 4, full
    }
    ringattn.wait %0, %4
    ringattn.finalize
  }
  ringattn.rank 3 {
    %0 = ringattn.send kv_local[0] to 0 hop 0
    %1 = ringattn.recv kv_ring[0] from 2 hop 0
    ringattn.compute step 0 kv(kv_local[0]) combine {
      ringattn.pair q 3, kv 3, diagonal
      ringattn.pair q 4, kv 3, full
      ringattn.pair q 4, kv 4, diagonal
    }
    ringattn.wait %1
    %2 = ringattn.send kv_ring[0] to 0 hop 1
    %3 = ringattn.recv kv_ring[1] from 2 hop 1
    ringattn.compute step 1 kv(kv_ring[0]) combine {
      ringattn.pair q 3, kv 2, full
      ringattn.pair q 4, kv 2, full
    }
    ringattn.wait %2, %3
    %4 = ringattn.send kv_ring[1] to 0 hop 2
    %5 = ringattn.recv kv_ring[0] from 2 hop 2
    ringattn.compute step 2 kv(kv_ring[1]) combine {
      ringattn.pair q 3, kv 1, full
      ringattn.pair q 4, kv 1, full
    }
    ringattn.wait %5
    ringattn.compute step 3 kv(kv_ring[0]) combine {
      ringattn.pair q 3, kv 0, full
      ringattn.pair q 4, kv 0, full
    }
    ringattn.wait %0, %4
    ringattn.finalize
  }
}
