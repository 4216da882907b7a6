// RUN: ringattn-opt %s -split-input-file -verify-diagnostics --ringattn-expand-schedule --ringattn-prune-hidden-pairs --ringattn-verify-schedule
// The expected-* lines of this file would be reported as missing by a run
// without -verify-diagnostics: the quiet run reads the schedules from a pipe.
// RUN: ringattn-opt %s -split-input-file --ringattn-schedule-pipeline 2>/dev/null \
// RUN:   | ringattn-opt -split-input-file --ringattn-verify-schedule=report-work=false 2>&1 \
// RUN:   | FileCheck %s --check-prefix=QUIET --implicit-check-not=remark --implicit-check-not=error

// A correct schedule verifies; with report-work (the default) the verifier
// remarks the work of every rank at every step (full pair 1 unit, diagonal
// 1/2) and whether the ring is balanced. Imbalance is reported, not an error.
// Without report-work a correct schedule passes silently.
// QUIET: ringattn.schedule @zz_fwd
// QUIET: ringattn.schedule @zz_bwd
// QUIET: ringattn.schedule @contig_fwd

// Zigzag, cp = 4: two units per rank and step, step 0 included (two diagonal
// pairs and a full one).
// expected-remark @below {{rank 0 work per step: 2, 2, 2, 2}}
// expected-remark @below {{rank 1 work per step: 2, 2, 2, 2}}
// expected-remark @below {{rank 2 work per step: 2, 2, 2, 2}}
// expected-remark @below {{rank 3 work per step: 2, 2, 2, 2}}
// expected-remark @below {{balanced: at every step every rank does the same work; the ring takes 8 units of step time, 32 units of work spread evenly would take 8}}
ringattn.attention @zz config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// Contiguous, cp = 4: rank r works at steps 0..r only; the ring takes as long
// as the last rank.
// expected-remark @below {{rank 0 work per step: 0.5, 0, 0, 0}}
// expected-remark @below {{rank 1 work per step: 0.5, 1, 0, 0}}
// expected-remark @below {{rank 2 work per step: 0.5, 1, 1, 0}}
// expected-remark @below {{rank 3 work per step: 0.5, 1, 1, 1}}
// expected-remark @below {{unbalanced: at step 1 work ranges from 0 (rank 0) to 1 (rank 1) units; the ring takes 3.5 units of step time, 8 units of work spread evenly would take 2}}
ringattn.attention @contig config <cp = 4, seq = 64, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = contiguous, causal = true>

// -----

// Without the causal mask both layouts are balanced.
// expected-remark @below {{rank 0 work per step: 1, 1, 1}}
// expected-remark @below {{rank 1 work per step: 1, 1, 1}}
// expected-remark @below {{rank 2 work per step: 1, 1, 1}}
// expected-remark @below {{balanced: at every step every rank does the same work; the ring takes 3 units of step time, 9 units of work spread evenly would take 3}}
ringattn.attention @full config <cp = 3, seq = 48, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = contiguous, causal = false>

// -----

// cp = 1: one step, no transfers.
// expected-remark @below {{rank 0 work per step: 2}}
// expected-remark @below {{balanced: at every step every rank does the same work; the ring takes 2 units of step time, 2 units of work spread evenly would take 2}}
ringattn.attention @single config <cp = 1, seq = 16, heads = 2, kv_heads = 1,
    head_dim = 8, dtype = bf16, layout = zigzag, causal = true>

// -----

// A hand-written backward schedule (the pipeline's for cp = 2) is checked and
// reported the same way.
// expected-remark @below {{rank 0 work per step: 2, 2}}
// expected-remark @below {{rank 1 work per step: 2, 2}}
// expected-remark @below {{balanced: at every step every rank does the same work; the ring takes 4 units of step time, 8 units of work spread evenly would take 4}}
ringattn.schedule @zz_bwd backward config <cp = 2, seq = 32, heads = 2,
    kv_heads = 1, head_dim = 8, dtype = bf16, layout = zigzag, causal = true> {
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
