#!/usr/bin/env python3
"""The ring's speed on real GPUs (torchrun, one process per GPU).

For each ring package (cp = number of processes, causal, batch 1) it times
forward and forward+backward through the runtime (ringattn_context) with the
NCCL transfers on, and the same programs with the transfers disabled; for
each single-GPU package (cp = 1, the same total S) it times our kernels on one
GPU. Per iteration: a barrier, a sleeping kernel that holds the stream while the
call's work is queued behind it (GPU time, not the host's launch latency, as
in attention_bench.py; --unprimed times from an idle stream), CUDA events
around one call on every rank, the slowest rank's time; the median over
--iters iterations, the median over --repeats repeats. Reports per-GPU TFLOP/s (causal FLOPs 4*H*S^2*D/2 per
forward, 3.5x for forward+backward, divided by cp), overlap efficiency (no
transfers / ring time) and retention (ring per-GPU TFLOP/s / single-GPU
TFLOP/s at the same S). With --timeline PKG, also records one forward and one
backward of PKG from the runtime's events (per rank: compute and transfer
spans per step).
"""

import argparse
import json
import os
import statistics
import sys

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from ringattn.runtime import Package, RingContext  # noqa: E402


def flops(package, backward):
    p = package
    fwd = 4 * p.heads * p.seq * p.seq * p.head_dim / 2
    return fwd * (3.5 if backward else 1.0)


def tensors(package):
    n, h, hkv, d = package.local_length, package.heads, package.kv_heads, package.head_dim
    r = lambda *s: torch.randn(*s, device="cuda").bfloat16()
    t = dict(q=r(1, n, h, d), k=r(1, n, hkv, d), v=r(1, n, hkv, d),
             dout=r(1, n, h, d), out=torch.empty(1, n, h, d, device="cuda").bfloat16(),
             lse=torch.empty(1, h, n, device="cuda"))
    for g, like in (("dq", "q"), ("dk", "k"), ("dv", "v")):
        t[g] = torch.empty_like(t[like])
    return t


def calls(context, t, stream):
    fwd = lambda: context.forward(t["q"], t["k"], t["v"], t["out"], t["lse"], stream)

    def fwdbwd():
        fwd()
        context.backward(t["dout"], t["q"], t["k"], t["v"], t["out"], t["lse"],
                         t["dq"], t["dk"], t["dv"], stream)
    return fwd, fwdbwd


# Cycles of the sleeping kernel ahead of a per-call measurement (0: none).
PRIME_CYCLES = 2_000_000


def timed_ms(fn, world, calls):
    """Milliseconds of `calls` calls of fn issued back to back after a
    barrier, on the slowest rank; a single call behind a sleeping kernel."""
    if world > 1:
        dist.barrier()
    torch.cuda.synchronize()
    if calls == 1 and PRIME_CYCLES:
        torch.cuda._sleep(PRIME_CYCLES)
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(calls):
        fn()
    end.record()
    torch.cuda.synchronize()
    t = torch.tensor([start.elapsed_time(end)], device="cuda")
    if world > 1:
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.item()


def time_ms(fn, world, iters, repeats, warmup=3):
    """Per call: median (over repeats) of the median over --iters of one
    call's time (barrier, events, slowest rank)."""
    for _ in range(warmup):
        fn()
    return statistics.median(
        statistics.median(timed_ms(fn, world, 1) for _ in range(iters))
        for _ in range(repeats))


def steady_ms(fn, world, iters, repeats, warmup=3):
    """Back to back: median (over repeats) of the time per call of --iters
    calls issued without a host sync (one barrier before them): the ranks
    stay in step through the ring itself, as in a training step's layers, so
    neither the host's launch latency nor the ranks' skew after a barrier is
    counted per call."""
    for _ in range(warmup):
        fn()
    return statistics.median(timed_ms(fn, world, iters) / iters
                             for _ in range(repeats))


def unique_id(package, rank, world):
    uid = [package.unique_id() if rank == 0 else None]
    if world > 1:
        dist.broadcast_object_list(uid, src=0)
    return uid[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ring", nargs="*", default=[], help="cp = world packages")
    parser.add_argument("--single", nargs="*", default=[], help="cp = 1 packages")
    parser.add_argument("--timeline", help="a ring package to record a timeline of")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", help="write the results here (rank 0)")
    parser.add_argument("--unprimed", action="store_true",
                        help="time single calls from an idle stream")
    args = parser.parse_args()
    global PRIME_CYCLES
    if args.unprimed:
        PRIME_CYCLES = 0
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    torch.cuda.set_device(rank)
    if world > 1:
        dist.init_process_group("nccl", device_id=torch.device("cuda", rank))
    stream = torch.cuda.current_stream().cuda_stream
    lib = lambda d: os.path.join(d, "libringattn_package.so")
    say = (lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None)
    say(f"{world} x {torch.cuda.get_device_name()}")
    results = {"device": torch.cuda.get_device_name(), "world": world,
               "primed": PRIME_CYCLES > 0,
               "ring": [], "single": [], "timeline": None}

    for directory in args.ring:
        package = Package(lib(directory))
        context = RingContext(package, rank, rank, 1, unique_id(package, rank, world))
        t = tensors(package)
        fwd, fwdbwd = calls(context, t, stream)
        row = {"package": package.description, "seq": package.seq, "cp": package.cp}
        for name, fn in (("fwd", fwd), ("fwdbwd", fwdbwd)):
            # The ring and its no-transfer twin alternate within each repeat
            # (a drift in clocks then hits both alike); medians over repeats.
            samples = {}
            for _ in range(args.repeats):
                for transfers in (True, False):
                    context.set_transfers(transfers)
                    key = name + ("" if transfers else "_no_transfers")
                    for protocol, timer in (("", time_ms), ("steady_", steady_ms)):
                        samples.setdefault(protocol + key, []).append(
                            timer(fn, world, args.iters, 1))
            for key, values in samples.items():
                ms = statistics.median(values)
                row[key + "_ms"] = ms
                row[key + "_tflops_per_gpu"] = (
                    flops(package, name == "fwdbwd") / package.cp / ms / 1e9)
            context.set_transfers(True)
            for protocol in ("", "steady_"):
                row[protocol + name + "_overlap_efficiency"] = (
                    row[protocol + name + "_no_transfers_ms"] / row[protocol + name + "_ms"])
        context.wait()
        context.close()
        say(json.dumps(row))
        results["ring"].append(row)
        del t
        torch.cuda.empty_cache()

    if world > 1:
        dist.barrier()
    if rank == 0:
        for directory in args.single:
            package = Package(lib(directory))
            context = RingContext(package, 0, 0, 1)
            t = tensors(package)
            fwd, fwdbwd = calls(context, t, stream)
            row = {"package": package.description, "seq": package.seq, "cp": 1}
            for name, fn in (("fwd", fwd), ("fwdbwd", fwdbwd)):
                for protocol, timer in (("", time_ms), ("steady_", steady_ms)):
                    ms = timer(fn, 1, args.iters, args.repeats)
                    row[protocol + name + "_ms"] = ms
                    row[protocol + name + "_tflops"] = flops(package, name == "fwdbwd") / ms / 1e9
            context.close()
            say(json.dumps(row))
            results["single"].append(row)
            del t
            torch.cuda.empty_cache()
    if world > 1:
        dist.barrier()

    for row in results["ring"]:
        single = [s for s in results["single"] if s["seq"] == row["seq"]]
        if single:
            for protocol in ("", "steady_"):
                for name in ("fwd", "fwdbwd"):
                    row[protocol + name + "_retention"] = (
                        row[protocol + name + "_tflops_per_gpu"] /
                        single[0][protocol + name + "_tflops"])

    if args.timeline:
        package = Package(lib(args.timeline))
        context = RingContext(package, rank, rank, 1, unique_id(package, rank, world))
        t = tensors(package)
        fwd, fwdbwd = calls(context, t, stream)
        for _ in range(3):
            fwdbwd()
        context.wait()
        context.set_timeline(True)
        gathered = {}
        for transfers in (True, False):
            context.set_transfers(transfers)
            spans = {}
            for name, fn in (("forward", fwd), ("backward", lambda: context.backward(
                    t["dout"], t["q"], t["k"], t["v"], t["out"], t["lse"], t["dq"],
                    t["dk"], t["dv"], stream))):
                if world > 1:
                    dist.barrier()
                torch.cuda.synchronize()
                fn()
                context.wait()
                spans[name] = context.timeline()
            ranks = [None] * world
            if world > 1:
                dist.all_gather_object(ranks, spans)
            else:
                ranks = [spans]
            gathered[transfers] = ranks
        context.close()
        results["timeline"] = {"package": package.description, "ranks": gathered[True],
                               "ranks_no_transfers": gathered[False]}

    if rank == 0:
        for row in results["ring"]:
            say("S={seq}: ring fwd {fwd_tflops_per_gpu:.0f} TFLOP/s/GPU (no transfers "
                "{fwd_no_transfers_tflops_per_gpu:.0f}, overlap {fwd_overlap_efficiency:.3f}"
                "{r1}), fwd+bwd {fwdbwd_tflops_per_gpu:.0f} (no transfers "
                "{fwdbwd_no_transfers_tflops_per_gpu:.0f}, overlap "
                "{fwdbwd_overlap_efficiency:.3f}{r2})".format(
                    r1=f", retention {row['fwd_retention']:.3f}" if "fwd_retention" in row else "",
                    r2=f", retention {row['fwdbwd_retention']:.3f}" if "fwdbwd_retention" in row else "",
                    **row))
            if "steady_fwd_ms" in row:
                say("  steady (back to back): fwd {steady_fwd_tflops_per_gpu:.0f} (overlap "
                    "{steady_fwd_overlap_efficiency:.3f}{r1}), fwd+bwd "
                    "{steady_fwdbwd_tflops_per_gpu:.0f} (overlap "
                    "{steady_fwdbwd_overlap_efficiency:.3f}{r2})".format(
                        r1=f", retention {row['steady_fwd_retention']:.3f}"
                        if "steady_fwd_retention" in row else "",
                        r2=f", retention {row['steady_fwdbwd_retention']:.3f}"
                        if "steady_fwdbwd_retention" in row else "", **row))
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
    if world > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
