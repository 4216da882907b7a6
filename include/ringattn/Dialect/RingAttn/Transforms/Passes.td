//===- Passes.td - ringattn schedule passes -----------------*- tablegen -*-===//
//
// The schedule pipeline: expand a configuration, prune hidden pairs, derive
// the backward schedule, overlap communication with compute, fuse the forward
// combine into the kernel epilogue, and verify.
//
//===----------------------------------------------------------------------===//

#ifndef RINGATTN_PASSES_TD
#define RINGATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExpandSchedule : Pass<"ringattn-expand-schedule", "::mlir::ModuleOp"> {
  let summary = "Expand each ringattn.attention into its forward schedule";
  let description = [{
    Replaces `ringattn.attention @name` with `ringattn.schedule @name_fwd
    forward`: for every rank and ring step, one `ringattn.compute` holding every
    (local q chunk, held kv chunk) pair with its mask kind (hidden pairs
    included), its `ringattn.combine`, and the K/V hop to the next step as a
    send/recv pair followed by a wait (no overlap yet). Step s reads the K/V
    shard of rank (r - s) mod cp from kv_local[0] (s = 0) or kv_ring[(s-1) % 2].
    A ring above 128 ranks (`kMaxRanks`) is an error: the schedule holds cp^2
    computes.
  }];
  let dependentDialects = ["::mlir::ringattn::RingAttnDialect"];
  let statistics = [
    Statistic<"numSchedules", "schedules", "Forward schedules created">
  ];
}

def PruneHiddenPairs : Pass<"ringattn-prune-hidden-pairs", "::mlir::ModuleOp"> {
  let summary = "Remove chunk pairs the causal mask hides completely";
  let description = [{
    Erases every `ringattn.pair` whose mask is `hidden`, then every compute left
    without pairs together with its `ringattn.combine` (a rank idle at a step
    launches no kernel).
  }];
  let statistics = [
    Statistic<"numPrunedPairs", "pruned-pairs", "Hidden pairs removed">,
    Statistic<"numPrunedComputes", "pruned-computes", "Empty computes removed">
  ];
}

def DeriveBackward : Pass<"ringattn-derive-backward", "::mlir::ModuleOp"> {
  let summary = "Derive the backward schedule from each forward schedule";
  let description = [{
    Adds `ringattn.schedule @name_bwd backward` next to every forward schedule
    `@name_fwd` that has none. The K/V shards travel the same hops again, each
    step recomputes chunk pairs of the forward, dQ accumulates locally, and an
    fp32 dK/dV accumulator per shard travels the ring collecting every rank's
    partial: the first step writes one into dkv_ring[0]; every later step
    writes dkv_partial[0], waits for the accumulator arriving from the
    neighbour and adds the partial into it; each accumulator is sent on after
    its add until it reaches its owner, where `ringattn.finalize` writes dK/dV.
    Whenever every rank computes at the forward's step 1 (the zigzag layout,
    any non-causal one), step s recomputes the forward's step (s+1) % cp: a
    rank sees its own shard last, the accumulators start one rank past their
    owners and the last of cp-1 dK/dV hops arrives during the owner's last
    step, so none is left after the last kernel. Otherwise (causal
    contiguous) step s recomputes the forward's step s and the accumulators
    start at their owners and come home after cp hops. Each wait of a dK/dV
    hop sits right before the first op that needs it, so no compute waits on
    a dK/dV hop posted after the previous compute.
  }];
  let dependentDialects = ["::mlir::ringattn::RingAttnDialect"];
}

def OverlapCommunication
    : Pass<"ringattn-overlap-communication", "::mlir::ModuleOp"> {
  let summary = "Post ring transfers early and wait for them late";
  let description = [{
    Moves every wait down to just before the first op that touches a buffer of
    its transfers, and every send/recv post up to just after the last op it
    conflicts with (an op reading or writing a received slot, writing a sent
    buffer, or waiting on a transfer of the same slot), keeping posts in their
    order. With the double-buffered slots of the expanded schedules this posts
    hop s+1 before the compute of step s, so each transfer hides behind a
    kernel. Waits left adjacent are merged. Hazards are respected exactly; the
    pass never renames slots.
  }];
  let statistics = [
    Statistic<"numMovedPosts", "moved-posts", "Posts moved earlier">,
    Statistic<"numMovedWaits", "moved-waits", "Waits moved later">
  ];
}

def FuseCombine : Pass<"ringattn-fuse-combine", "::mlir::ModuleOp"> {
  let summary = "Fold each forward combine into its step's kernel epilogue";
  let description = [{
    Sets `combine` on the `ringattn.compute` of a step and erases the step's
    `ringattn.combine`: the kernel then merges its partial O/LSE into the fp32
    accumulators itself. A combine without a compute of its step before it, a
    combine after the finalize, and a second combine of a step stay for
    `ringattn-verify-schedule` to report.
  }];
  let statistics = [
    Statistic<"numFused", "fused", "Combines fused into computes">
  ];
}

def VerifySchedule : Pass<"ringattn-verify-schedule", "::mlir::ModuleOp"> {
  let summary = "Check coverage, causality and buffer contents of schedules";
  let description = [{
    Executes every schedule symbolically, all ranks together, transfers matched
    in posting order per pair of ranks, and reports as errors (naming rank, step
    and pair): a visible (q, kv) chunk pair computed never or more than once; a
    pair above the causal diagonal; a pair whose buffer does not hold its K/V
    chunk at that step (wrong shard, or a slot whose receive has not been
    waited); a transfer never waited, never matched, or matched with one of
    another kind; a deadlock; a partial never combined; a dK/dV contribution
    lost, duplicated or delivered to the wrong owner; and, in backward, a
    compute that waits on a dK/dV hop posted after the previous compute. With
    `report-work`, it remarks each rank's work per step (full pair 1 unit,
    diagonal 1/2) and whether the schedule is balanced; imbalance is not an
    error.
  }];
  let options = [
    Option<"reportWork", "report-work", "bool", /*default=*/"true",
           "Emit remarks with the work of every rank at every step">
  ];
}

#endif // RINGATTN_PASSES_TD
