#!/usr/bin/env python3
"""Numerical edge cases of the generated kernels on one GPU, against fp64.

Each case runs a package's forward and backward schedules of every rank in
ring order on one GPU (as test/GPU/forward_check.py and backward_check.py
do: outputs and accumulators poisoned with NaN first) on inputs built to
stress one thing:

  large     scores of large magnitude: q and k scaled so that the largest
            |q.k| * scale is about 1e4 (softmax close to one-hot);
  overflow  fp16 values near the top of the range: v uniform in
            [-6e4, 6e4] (the largest finite fp16 is 65504), dO scaled so
            the true gradients stay finite in fp16;
  tiny      the shortest ranks: S_local = 2 (one-token chunks: cp = 1,
            S = 2 and cp = 2, S = 4, causal and full) and S_local = 4 and 12
            (chunks of 2 and 6 tokens, whose rows start off the 16-byte
            boundaries a TMA box needs: the kernels round the LSE/Delta box
            down and skip the rest);
  masked    rows fully masked within a step (cp = 4 contiguous causal: rank
            0 sees nothing after step 0; cp = 4 zigzag: the front chunk sees
            nothing of the higher ranks' shards), S = 64 (tiles mostly tail).

Pass: no NaN or inf in out, LSE, dQ, dK, dV; each relative error no worse
than 1.5x that of cuDNN (PyTorch SDPA) on the same inputs (LSE: or 1e-5),
the bound of the kernel checks. usage: edge_cases.py CASE=DIR ... [--json F]
"""

import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402

FP16_MAX = 65504.0


def inputs(kind, config, batch):
    dtype = common.DTYPES[config["dtype"]]
    b, s, h, hkv, d = batch, config["seq"], config["heads"], config["kv_heads"], config["head_dim"]
    q = torch.randn(b, s, h, d, device="cuda")
    k = torch.randn(b, s, hkv, d, device="cuda")
    v = torch.randn(b, s, hkv, d, device="cuda")
    dout = torch.randn(b, s, h, d, device="cuda")
    if kind == "large":
        # Scale q and k alike so the largest scaled score is about 1e4.
        group = h // hkv
        scores = torch.einsum("bshd,bthd->bhst", q, k.repeat_interleave(group, 2))
        peak = scores.abs().max().item() / math.sqrt(d)
        factor = math.sqrt(1e4 / peak)
        q, k = q * factor, k * factor
    elif kind == "overflow":
        v = (torch.rand(b, s, hkv, d, device="cuda") * 2 - 1) * 6e4
        dout = dout * 1e-3
    return tuple(x.to(dtype) for x in (q, k, v, dout))


def comparator(q, k, v, causal, dout):
    """cuDNN's out, LSE and gradients on the same inputs."""
    out, lse = common.cudnn_run(q, k, v, causal)
    _, dq, dk, dv = common.cudnn_run(q, k, v, causal, dout)
    return out, lse, dq, dk, dv


def check(kind, directory, batch, seed):
    gen = common.Generated(directory)
    c = gen.config
    torch.manual_seed(seed)
    q, k, v, dout = inputs(kind, c, batch)
    out, lse = common.ring_forward(gen, q, k, v)
    dq, dk, dv = common.ring_backward(gen, q, k, v, out, lse, dout)
    gen.close()
    ref = common.reference(q, k, v, c["causal"], dout)
    names = ("out", "lse", "dq", "dk", "dv")
    ours_t = (out, lse, dq, dk, dv)
    finite = {n: bool(torch.isfinite(x.float()).all().item()) for n, x in zip(names, ours_t)}
    valid = True
    if c["dtype"] == "fp16":  # the case is fair only if the truth fits fp16
        valid = all(r.abs().max().item() < FP16_MAX
                    for n, r in zip(names, ref) if n != "lse")
    ours = {n: common.relative_error(x, r) for n, x, r in zip(names, ours_t, ref)}
    try:
        theirs_t = comparator(q, k, v, c["causal"], dout)
        theirs = {n: common.relative_error(x, r) for n, x, r in zip(names, theirs_t, ref)}
        against = "cuDNN"
    except Exception as error:  # cuDNN refuses the shape: say so, bound by fp64 only
        theirs = {n: float("nan") for n in names}
        against = f"none (cuDNN: {str(error).splitlines()[0][:80]})"

    def within(n):
        if not math.isfinite(ours[n]):
            return False
        if not math.isfinite(theirs[n]):
            return ours[n] <= 1e-2  # no comparator: the bf16/fp16 rounding level
        bound = 1.5 * theirs[n]
        return ours[n] <= (max(bound, 1e-5) if n == "lse" else bound)
    ok = valid and all(finite.values()) and all(within(n) for n in names)
    case = {"case": kind, "dir": os.path.basename(directory.rstrip("/")), "cp": c["cp"],
            "seq": c["seq"], "dtype": c["dtype"], "layout": c["layout"], "batch": batch,
            "finite": finite, "valid": valid, "errors": ours, "comparator": against,
            "comparator_errors": theirs, "pass": ok}
    print(("PASS" if ok else "FAIL") + f" {kind} {case['dir']} b={batch}: " +
          ", ".join(f"{n} {ours[n]:.2e} ({theirs[n]:.2e})" for n in names) +
          ("" if all(finite.values()) else f"; non-finite: {[n for n in names if not finite[n]]}") +
          ("" if valid else "; the fp64 truth overflows fp16 (invalid case)") +
          f"; vs {against}", flush=True)
    return case


def main():
    def parse(spec):
        kind, equals, directory = spec.partition("=")
        if not equals:
            raise ValueError(f"{spec!r} is not KIND=DIR")
        return (kind, directory), {"case": kind, "dir": directory}
    common.run_checks(__doc__, check, "KIND=DIR (KIND: large, overflow, tiny, masked)",
                      parse=parse, note="; errors in () are the comparator's",
                      passed="edge cases passed")


if __name__ == "__main__":
    main()
