#!/usr/bin/env python3
"""Times generated single-GPU (cp = 1) forward kernels against PyTorch SDPA.

For each ringattn-gen output directory (cp = 1), times the one forward launch
with CUDA events (warm-up, then the median of many launches, rotating over
several input sets so repeated runs do not measure the L2 cache), and times
PyTorch SDPA's cuDNN and flash (FA2) backends on the same shapes in the same
process. FLOPs: 4*S^2*D*Hq per batch, halved for causal. Prints a table and
writes JSON.
"""

import argparse
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
from ringattn.runtime import Generated  # noqa: E402

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def time_ms(fn, sets, iters):
    """Median milliseconds of fn(inputs) over `iters` launches."""
    for i in range(3):
        fn(sets[i % len(sets)])
    torch.cuda.synchronize()
    times = []
    for i in range(iters):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        fn(sets[i % len(sets)])
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def bench_repeated(directory, batch, iters, sets_count, repeats):
    """bench() `repeats` times; the median of each timing, all runs kept."""
    runs = [bench(directory, batch, iters, sets_count) for _ in range(repeats)]
    result = dict(runs[0])
    for key in ("ringattn", "cudnn", "flash"):
        result[f"{key}_ms"] = statistics.median(r[f"{key}_ms"] for r in runs)
        result[f"{key}_tflops"] = result["flops"] / result[f"{key}_ms"] / 1e9
        result[f"{key}_runs_ms"] = [r[f"{key}_ms"] for r in runs]
    result["vs_cudnn"] = result["ringattn_tflops"] / result["cudnn_tflops"]
    result["vs_flash"] = result["ringattn_tflops"] / result["flash_tflops"]
    return result


def bench(directory, batch, iters, sets_count):
    gen = Generated(directory)
    c = gen.config
    assert c["cp"] == 1, "forward_bench times single-GPU (cp = 1) kernels"
    (_, kernel, _), = gen.forward_launches(0)
    dtype = DTYPES[c["dtype"]]
    b, s, h, hkv, d = batch, c["seq"], c["heads"], c["kv_heads"], c["head_dim"]
    sets = []
    for _ in range(sets_count):
        q = torch.randn(b, s, h, d, device="cuda", dtype=dtype)
        k = torch.randn(b, s, hkv, d, device="cuda", dtype=dtype)
        v = torch.randn(b, s, hkv, d, device="cuda", dtype=dtype)
        sets.append((q, k, v))
    out = torch.empty(b, s, h, d, device="cuda", dtype=dtype)
    lse = torch.empty(b, h, s, device="cuda", dtype=torch.float32)

    def ours(t):
        gen.launch_forward(kernel, t[0], t[1], t[2], None, None, out, lse)

    sdpa_sets = [(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
                 for q, k, v in sets]

    def sdpa(t):
        F.scaled_dot_product_attention(t[0], t[1], t[2], is_causal=c["causal"],
                                       enable_gqa=True)

    def sdpa_repeated_kv(t):
        group = h // hkv
        F.scaled_dot_product_attention(t[0], t[1].repeat_interleave(group, 1),
                                       t[2].repeat_interleave(group, 1),
                                       is_causal=c["causal"])

    flops = 4 * b * s * s * d * h * (0.5 if c["causal"] else 1.0)
    result = {"dir": os.path.basename(directory.rstrip("/")), "seq": s,
              "heads": h, "kv_heads": hkv, "head_dim": d, "causal": c["causal"],
              "batch": b, "flops": flops}
    result["ringattn_ms"] = time_ms(ours, sets, iters)
    for name, backend in (("cudnn", SDPBackend.CUDNN_ATTENTION),
                          ("flash", SDPBackend.FLASH_ATTENTION)):
        with sdpa_kernel(backend):
            try:
                result[f"{name}_ms"] = time_ms(sdpa, sdpa_sets, iters)
            except RuntimeError:
                # A backend without native GQA: give it repeated K/V, as the
                # anchor scripts do (the repeat is timed too, a small cost).
                result[f"{name}_ms"] = time_ms(sdpa_repeated_kv, sdpa_sets, iters)
    for key in ("ringattn", "cudnn", "flash"):
        result[f"{key}_tflops"] = flops / result[f"{key}_ms"] / 1e9
    result["vs_cudnn"] = result["ringattn_tflops"] / result["cudnn_tflops"]
    result["vs_flash"] = result["ringattn_tflops"] / result["flash_tflops"]
    gen.close()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--sets", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3,
                        help="whole measurements per shape; the median is reported")
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = [bench_repeated(d, args.batch, args.iters, args.sets, args.repeats)
            for d in args.dirs]
    print(f"device: {torch.cuda.get_device_name()}")
    print(f"{'case':>10} {'S':>6} {'causal':>6} {'ringattn':>9} {'cuDNN':>7} "
          f"{'FA2':>7} {'/cuDNN':>7} {'/FA2':>6}  (TFLOP/s)")
    for r in rows:
        print(f"{r['dir']:>10} {r['seq']:>6} {str(r['causal']):>6} "
              f"{r['ringattn_tflops']:9.1f} {r['cudnn_tflops']:7.1f} "
              f"{r['flash_tflops']:7.1f} {r['vs_cudnn']:7.3f} {r['vs_flash']:6.3f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(),
                       "torch": torch.__version__,
                       "cudnn": torch.backends.cudnn.version(),
                       "repeats": args.repeats, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
