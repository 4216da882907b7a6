#!/usr/bin/env python3
"""Per-kernel times of a single-GPU (cp = 1) package next to cuDNN's.

For each ringattn-gen output directory: each of our kernels timed alone
(CUDA events, median over runs rotating 3 input sets: forward, preprocess,
each backward step kernel and its dQ kernel, finalize), and cuDNN's forward
+ backward under torch.profiler, its kernels' mean durations by name. Tells
which kernel a forward+backward ratio is lost in. `--sequence` profiles our
whole forward + backward back to back too, as cuDNN's is: each kernel's (and
memset's) duration in the sequence and the span per run, so gaps between
launches and clocks under sustained load show. `--batch` sequences a run;
`--ours-only` / `--cudnn-only` run one side alone, for ncu. Prints a table;
--json.
"""

import argparse
import collections
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "GPU"))
import common  # noqa: E402
from attention_bench import ours_tensors, time_ms  # noqa: E402


def profile(step, iters):
    """Mean ms per run of each GPU activity of step() under torch.profiler
    (back to back, after 3 warm-up runs), and the span per run: from the
    first activity's start to the last one's end, over iters."""
    for _ in range(3):
        step()
    torch.cuda.synchronize()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            step()
        torch.cuda.synchronize()
    total = collections.defaultdict(float)
    first, last = float("inf"), 0.0
    for event in prof.events():
        if event.device_type == torch.autograd.DeviceType.CUDA:
            total[event.name[:90]] += event.device_time / 1000.0
            first = min(first, event.time_range.start)
            last = max(last, event.time_range.end)
    rows = {name: ms / iters for name, ms in total.items() if ms / iters > 0.01}
    return rows, (last - first) / 1000.0 / iters


def ours_sequence(directory, iters, batch):
    """Our forward + backward under the profiler, as cuDNN's is timed."""
    gen = common.Generated(directory)
    sets, buf = ours_tensors(gen, batch, 1)
    q, k, v, g = sets[0]
    (_, fwd, _), = gen.forward_launches(0)

    def step():
        gen.launch_forward(fwd, q, k, v, None, None, buf.out, buf.lse)
        gen.preprocess(buf.out, g, buf.delta, buf.dq_acc)
        for _, kernel, dq_kernel, _ in gen.backward_launches(0):
            gen.launch_backward(kernel, q, k, v, g, buf.lse, buf.delta, buf.dq_acc,
                                buf.acc[0], buf.acc[1])
            if dq_kernel is not None:
                gen.launch_backward(dq_kernel, q, k, v, g, buf.lse, buf.delta,
                                    buf.dq_acc, None, None)
        gen.finalize(buf.dq_acc, buf.acc[0], buf.acc[1], *buf.grads)
    result = profile(step, iters)
    gen.close()
    return result


def ours(directory, iters, batch):
    gen = common.Generated(directory)
    c = gen.config
    sets, buf = ours_tensors(gen, batch, 3)
    out, lse, delta, dq_acc, acc, grads = (
        buf.out, buf.lse, buf.delta, buf.dq_acc, buf.acc, buf.grads)
    (_, fwd, _), = gen.forward_launches(0)
    rows = {}
    rows[f"forward {fwd}"] = time_ms(
        lambda t: gen.launch_forward(fwd, t[0], t[1], t[2], None, None, out, lse),
        sets, iters)
    rows["preprocess"] = time_ms(
        lambda t: gen.preprocess(out, t[3], delta, dq_acc), sets, iters)
    for _, kernel, dq_kernel, _ in gen.backward_launches(0):
        rows[f"backward {kernel}"] = time_ms(
            lambda t: gen.launch_backward(kernel, t[0], t[1], t[2], t[3], lse, delta,
                                          dq_acc, acc[0], acc[1]), sets, iters)
        if dq_kernel is not None:
            rows[f"dq {dq_kernel}"] = time_ms(
                lambda t: gen.launch_backward(dq_kernel, t[0], t[1], t[2], t[3], lse,
                                              delta, dq_acc, None, None), sets, iters)
    rows["finalize"] = time_ms(
        lambda t: gen.finalize(dq_acc, acc[0], acc[1], *grads), sets, iters)
    gen.close()
    return c, rows


def cudnn(c, iters, batch, profiled=True):
    dtype = common.DTYPES[c["dtype"]]
    s, h, hkv, d = c["seq"], c["heads"], c["kv_heads"], c["head_dim"]
    q, k, v, g = (torch.randn(batch, n, s, d, device="cuda", dtype=dtype).requires_grad_(i < 3)
                  for i, n in enumerate((h, hkv, hkv, h)))
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        def step():
            for x in (q, k, v):
                x.grad = None
            F.scaled_dot_product_attention(q, k, v, is_causal=c["causal"],
                                           enable_gqa=True).backward(g)
        if profiled:
            return profile(step, iters)
        for _ in range(iters):  # under an outside profiler (ncu)
            step()
        torch.cuda.synchronize()
        return {}, 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--iters", type=common.positive_int, default=20)
    parser.add_argument("--batch", type=common.positive_int, default=1)
    alone = parser.add_mutually_exclusive_group()
    alone.add_argument("--ours-only", action="store_true",
                       help="skip cuDNN (e.g. under a profiler of our own)")
    alone.add_argument("--cudnn-only", action="store_true",
                       help="run cuDNN's forward + backward --iters times at each"
                       " package's shape, unprofiled (under ncu)")
    parser.add_argument("--sequence", action="store_true",
                        help="also profile our forward + backward back to back")
    parser.add_argument("--json")
    args = parser.parse_args()
    print(f"device: {torch.cuda.get_device_name()} (ms per kernel)")
    report = []
    for directory in args.dirs:
        if args.cudnn_only:
            gen = common.Generated(directory)
            cudnn(gen.config, args.iters, args.batch, profiled=False)
            gen.close()
            continue
        c, rows = ours(directory, args.iters, args.batch)
        theirs, theirs_span = ({}, 0.0) if args.ours_only else cudnn(c, args.iters, args.batch)
        name = os.path.basename(directory.rstrip("/"))
        print(f"{name}: ours {sum(rows.values()):.3f} ms, cuDNN {sum(theirs.values()):.3f} ms"
              f" (span per run {theirs_span:.3f} ms)")
        for key, ms in rows.items():
            print(f"  ours   {ms:8.3f}  {key}")
        for key, ms in sorted(theirs.items(), key=lambda kv: -kv[1]):
            print(f"  cuDNN  {ms:8.3f}  {key}")
        entry = {"dir": name, "batch": args.batch, "ours_ms": rows, "cudnn_ms": theirs,
                 "cudnn_span_ms": theirs_span}
        if args.sequence:
            seq, span = ours_sequence(directory, args.iters, args.batch)
            print(f"  in sequence: ours {sum(seq.values()):.3f} ms of activities,"
                  f" span per run {span:.3f} ms")
            for key, ms in sorted(seq.items(), key=lambda kv: -kv[1]):
                print(f"  ours*  {ms:8.3f}  {key}")
            entry.update(ours_sequence_ms=seq, ours_span_ms=span)
        report.append(entry)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "rows": report}, f, indent=1)


if __name__ == "__main__":
    main()
