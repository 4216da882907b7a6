#!/usr/bin/env python3
"""Times generated single-GPU (cp = 1) attention against PyTorch SDPA.

For each ringattn-gen output directory (cp = 1): the forward (one launch),
and the forward + backward (forward, preprocess, the backward step kernel(s),
finalize), timed with CUDA events (warm-up, then the median of many runs
rotating over several input sets so that the L2 cache does not serve
repeats), next to PyTorch SDPA's cuDNN and flash (FA2) backends on the same
shapes in the same process (forward, and forward + autograd backward). The
three take turns run by run, so that the GPU's clock drift (temperature,
power) over the benchmark falls on all of them alike.
FLOPs: 4*S^2*D*Hq per sequence, halved for causal; forward + backward 3.5x.
`--repeats` whole measurements; the median is reported. Prints a table and
writes JSON.
"""

import argparse
import json
import os
import statistics
import sys
import types

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "GPU"))
import common  # noqa: E402

KEYS = [f"{who}_{what}" for what in ("fwd", "fwdbwd")
        for who in ("ringattn", "cudnn", "flash")]


# Before each timed run the stream gets this many cycles of a sleeping
# kernel, so that the run's launches are queued before its start event fires:
# the times are the GPU's, without the host's launch latency (which a
# training step overlaps with the GPU). 0 (--unprimed) times from an idle
# stream, host latency included.
PRIME_CYCLES = 2_000_000


def time_interleaved(cases, iters):
    """Median milliseconds of each case's fn(inputs) over `iters` runs, the
    cases taking turns run by run: the GPU's clocks drift with its
    temperature and power over a benchmark, and every case sees the same
    drift. cases: {key: (fn, input sets)}."""
    for fn, sets in cases.values():
        for i in range(3):
            fn(sets[i % len(sets)])
    torch.cuda.synchronize()
    times = {key: [] for key in cases}
    for i in range(iters):
        for key, (fn, sets) in cases.items():
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            if PRIME_CYCLES:
                torch.cuda._sleep(PRIME_CYCLES)
            start.record()
            fn(sets[i % len(sets)])
            end.record()
            end.synchronize()
            times[key].append(start.elapsed_time(end))
    return {key: statistics.median(t) for key, t in times.items()}


def time_ms(fn, sets, iters):
    """Median milliseconds of fn(inputs) over `iters` runs."""
    return time_interleaved({"": (fn, sets)}, iters)[""]


def ours_tensors(gen, batch, sets_count):
    """`sets_count` random (q, k, v, dout) of a cp = 1 package's shape, and
    the buffers its kernels write (out, lse, delta, dq_acc, acc = dK/dV
    partials, grads = dq, dk, dv)."""
    c = gen.config
    dtype = common.DTYPES[c["dtype"]]
    b, s, h, hkv, d = batch, c["seq"], c["heads"], c["kv_heads"], c["head_dim"]
    dev = "cuda"
    sets = [tuple(torch.randn(b, s, n, d, device=dev, dtype=dtype) for n in (h, hkv, hkv, h))
            for _ in range(sets_count)]
    f32 = torch.float32
    out = torch.empty(b, s, h, d, device=dev, dtype=dtype)
    buffers = types.SimpleNamespace(
        out=out, lse=torch.empty(b, h, s, device=dev, dtype=f32),
        delta=torch.empty(b, h, s, device=dev, dtype=f32),
        dq_acc=torch.zeros(b, s, h, d, device=dev, dtype=f32),
        acc=torch.empty(2, b, s, hkv, d, device=dev, dtype=f32),
        grads=(torch.empty_like(out), torch.empty(b, s, hkv, d, device=dev, dtype=dtype),
               torch.empty(b, s, hkv, d, device=dev, dtype=dtype)))
    return sets, buffers


def make_cases(gen, batch, sets_count):
    """{"fwd": cases, "fwdbwd": cases} of a cp = 1 package, each case
    {"ringattn" | "cudnn" | "flash": (fn, input sets)}: our launches, and
    PyTorch SDPA on the same shapes (forward, and forward + autograd
    backward)."""
    c = gen.config
    assert c["cp"] == 1, "attention_bench times single-GPU (cp = 1) packages"
    (_, fwd_kernel, _), = gen.forward_launches(0)
    sets, buf = ours_tensors(gen, batch, sets_count)
    out, lse, delta, dq_acc, acc, grads = (
        buf.out, buf.lse, buf.delta, buf.dq_acc, buf.acc, buf.grads)

    def ours_fwd(t):
        gen.launch_forward(fwd_kernel, t[0], t[1], t[2], None, None, out, lse)

    def ours_fwdbwd(t):
        ours_fwd(t)
        gen.preprocess(out, t[3], delta, dq_acc)
        for _, kernel, dq_kernel, _ in gen.backward_launches(0):
            gen.launch_backward(kernel, t[0], t[1], t[2], t[3], lse, delta,
                                dq_acc, acc[0], acc[1])
            if dq_kernel is not None:
                gen.launch_backward(dq_kernel, t[0], t[1], t[2], t[3], lse, delta,
                                    dq_acc, None, None)
        gen.finalize(dq_acc, acc[0], acc[1], *grads)

    sdpa_sets = [tuple(x.transpose(1, 2).detach().requires_grad_(i < 3)
                       for i, x in enumerate(t)) for t in sets]

    def sdpa(backend, backward):
        def run(t):
            with sdpa_kernel(backend):
                if backward:
                    for x in t[:3]:
                        x.grad = None
                o = F.scaled_dot_product_attention(t[0], t[1], t[2],
                                                   is_causal=c["causal"],
                                                   enable_gqa=True)
                if backward:
                    o.backward(t[3])
        return run

    cases = {}
    for what, backward, ours in (("fwd", False, ours_fwd),
                                 ("fwdbwd", True, ours_fwdbwd)):
        cases[what] = {"ringattn": (ours, sets)}
        for name, backend in (("cudnn", SDPBackend.CUDNN_ATTENTION),
                              ("flash", SDPBackend.FLASH_ATTENTION)):
            cases[what][name] = (sdpa(backend, backward), sdpa_sets)
    return cases


def bench(directory, batch, iters, sets_count, backward):
    gen = common.Generated(directory)
    c = gen.config
    b, s, h, hkv, d = batch, c["seq"], c["heads"], c["kv_heads"], c["head_dim"]
    flops = 4 * b * s * s * d * h * (0.5 if c["causal"] else 1.0)
    r = {"dir": os.path.basename(directory.rstrip("/")), "seq": s, "heads": h,
         "kv_heads": hkv, "head_dim": d, "causal": c["causal"], "batch": b,
         "flops_fwd": flops}
    # Ours, cuDNN and FA2 take turns run by run (forward first, then
    # forward + backward), so that the clocks' drift is shared.
    for what, cases in make_cases(gen, batch, sets_count).items():
        if what == "fwdbwd" and not backward:
            continue
        for name, ms in time_interleaved(cases, iters).items():
            r[f"{name}_{what}_ms"] = ms
    gen.close()
    return r


def summarize(runs):
    """Medians over repeats, TFLOP/s and ratios."""
    r = dict(runs[0])
    for key in KEYS:
        ms = [run[f"{key}_ms"] for run in runs if f"{key}_ms" in run]
        if not ms:
            continue
        r[f"{key}_ms"] = statistics.median(ms)
        r[f"{key}_runs_ms"] = ms
        factor = 3.5 if key.endswith("fwdbwd") else 1.0
        r[f"{key}_tflops"] = factor * r["flops_fwd"] / r[f"{key}_ms"] / 1e9
    for what in ("fwd", "fwdbwd"):
        if f"ringattn_{what}_tflops" in r:
            for other in ("cudnn", "flash"):
                r[f"{what}_vs_{other}"] = (r[f"ringattn_{what}_tflops"] /
                                           r[f"{other}_{what}_tflops"])
    return r


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--batch", type=common.positive_int, default=1)
    parser.add_argument("--iters", type=common.positive_int, default=20)
    parser.add_argument("--sets", type=common.positive_int, default=3)
    parser.add_argument("--repeats", type=common.positive_int, default=3)
    parser.add_argument("--no-backward", action="store_true")
    parser.add_argument("--unprimed", action="store_true",
                        help="time from an idle stream (host launch latency included)")
    parser.add_argument("--json")
    args = parser.parse_args()
    global PRIME_CYCLES
    if args.unprimed:
        PRIME_CYCLES = 0
    rows = [summarize([bench(d, args.batch, args.iters, args.sets,
                             not args.no_backward) for _ in range(args.repeats)])
            for d in args.dirs]
    print(f"device: {torch.cuda.get_device_name()} (TFLOP/s, median of {args.repeats}"
          f"{'' if PRIME_CYCLES else ', unprimed'})")
    print(f"{'case':>16} {'S':>6} {'fwd':>6} {'cuDNN':>6} {'FA2':>6} {'/cuDNN':>7} "
          f"{'fwd+bwd':>8} {'cuDNN':>6} {'FA2':>6} {'/cuDNN':>7} {'/FA2':>6}")
    for r in rows:
        line = (f"{r['dir']:>16} {r['seq']:>6} {r['ringattn_fwd_tflops']:6.0f} "
                f"{r['cudnn_fwd_tflops']:6.0f} {r['flash_fwd_tflops']:6.0f} "
                f"{r['fwd_vs_cudnn']:7.3f}")
        if "ringattn_fwdbwd_tflops" in r:
            line += (f" {r['ringattn_fwdbwd_tflops']:8.0f} {r['cudnn_fwdbwd_tflops']:6.0f}"
                     f" {r['flash_fwdbwd_tflops']:6.0f} {r['fwdbwd_vs_cudnn']:7.3f}"
                     f" {r['fwdbwd_vs_flash']:6.2f}")
        print(line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(),
                       "torch": torch.__version__,
                       "cudnn": torch.backends.cudnn.version(),
                       "repeats": args.repeats, "primed": PRIME_CYCLES > 0,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
