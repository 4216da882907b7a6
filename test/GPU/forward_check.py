#!/usr/bin/env python3
"""Checks generated forward kernels on the GPU against an fp64 reference.

For each ringattn-gen output directory given, runs the forward schedule of
every rank on ONE GPU in ring order (rank r's step s reads the K/V shard of
rank (r - s) mod cp, exactly as the ring would deliver it), so every epilogue
(init, merge, final, finalize-only) runs; then gathers out and LSE and
compares them with dense attention in fp64 on the same bf16/fp16-rounded
inputs, next to cuDNN's error on the same inputs. Outputs and accumulators are
poisoned with NaN first; inputs are fresh random normals every run.

Pass: relative error (||x - ref|| / ||ref||) of out and LSE no worse than 1.5x
cuDNN's, and no NaN anywhere. Prints one line per case and a JSON summary.
"""

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from ringattn.runtime import Generated  # noqa: E402

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def rank_positions(config, rank):
    """Global token index of each local token of `rank` (front, then back)."""
    cp, seq = config["cp"], config["seq"]
    if config["layout"] == "zigzag":
        chunk = seq // (2 * cp)
        chunks = [rank, 2 * cp - 1 - rank]
    else:
        chunk = seq // cp
        chunks = [rank]
    return torch.cat([torch.arange(c * chunk, (c + 1) * chunk) for c in chunks])


def reference(q, k, v, causal, rows_per_block=256):
    """Dense attention in fp64: out [B, S, H, D], lse [B, H, S] (natural log)."""
    b, s, h, d = q.shape
    group = h // k.shape[2]
    scale = 1.0 / math.sqrt(d)
    qd = q.double().permute(0, 2, 1, 3)
    kd = k.double().permute(0, 2, 1, 3).repeat_interleave(group, dim=1)
    vd = v.double().permute(0, 2, 1, 3).repeat_interleave(group, dim=1)
    out = torch.empty(b, h, s, d, dtype=torch.float64, device=q.device)
    lse = torch.empty(b, h, s, dtype=torch.float64, device=q.device)
    cols = torch.arange(s, device=q.device)
    for r0 in range(0, s, rows_per_block):
        r1 = min(s, r0 + rows_per_block)
        scores = torch.matmul(qd[:, :, r0:r1], kd.transpose(-1, -2)) * scale
        if causal:
            rows = torch.arange(r0, r1, device=q.device)
            scores.masked_fill_(cols[None, :] > rows[:, None], float("-inf"))
        block_lse = torch.logsumexp(scores, dim=-1)
        out[:, :, r0:r1] = torch.matmul(torch.exp(scores - block_lse[..., None]), vd)
        lse[:, :, r0:r1] = block_lse
    return out.permute(0, 2, 1, 3), lse


def relative_error(x, ref):
    x = x.double()
    if not torch.isfinite(x).all():
        return float("nan")
    return (torch.linalg.vector_norm(x - ref) / torch.linalg.vector_norm(ref)).item()


def cudnn_errors(q, k, v, causal, ref_out, ref_lse):
    """cuDNN's out and LSE errors against the same reference."""
    group = q.shape[2] // k.shape[2]
    qh = q.permute(0, 2, 1, 3)
    kh = k.permute(0, 2, 1, 3).repeat_interleave(group, dim=1)
    vh = v.permute(0, 2, 1, 3).repeat_interleave(group, dim=1)
    result = torch.ops.aten._scaled_dot_product_cudnn_attention(
        qh, kh, vh, None, True, 0.0, causal, False)
    out, lse = result[0], result[1]
    out_err = relative_error(out.permute(0, 2, 1, 3), ref_out)
    lse_err = relative_error(lse.reshape(ref_lse.shape), ref_lse)
    return out_err, lse_err


def run_ring_on_one_gpu(gen, q, k, v):
    """Runs every rank's forward launches; returns global out and lse."""
    config = gen.config
    cp = config["cp"]
    b, s, h, d = q.shape
    out = torch.full_like(q, float("nan"))
    lse = torch.full((b, h, s), float("nan"), dtype=torch.float32, device=q.device)
    shards = [rank_positions(config, r).to(q.device) for r in range(cp)]
    k_shards = [k[:, pos].contiguous() for pos in shards]
    v_shards = [v[:, pos].contiguous() for pos in shards]
    for rank in range(cp):
        pos = shards[rank]
        q_local = q[:, pos].contiguous()
        n = pos.numel()
        o_acc = torch.full((b, n, h, d), float("nan"), dtype=torch.float32, device=q.device)
        lse_acc = torch.full((b, h, n), float("nan"), dtype=torch.float32, device=q.device)
        out_local = torch.full((b, n, h, d), float("nan"), dtype=q.dtype, device=q.device)
        lse_local = torch.full((b, h, n), float("nan"), dtype=torch.float32, device=q.device)
        for _, kernel, source in gen.forward_launches(rank):
            gen.launch_forward(kernel, q_local, k_shards[source], v_shards[source],
                               o_acc, lse_acc, out_local, lse_local)
        torch.cuda.synchronize()
        out[:, pos] = out_local
        lse[:, :, pos] = lse_local
    return out, lse


def check(directory, batch, seed):
    gen = Generated(directory)
    c = gen.config
    torch.manual_seed(seed)
    dtype = DTYPES[c["dtype"]]
    shape_q = (batch, c["seq"], c["heads"], c["head_dim"])
    shape_kv = (batch, c["seq"], c["kv_heads"], c["head_dim"])
    q = torch.randn(shape_q, device="cuda").to(dtype)
    k = torch.randn(shape_kv, device="cuda").to(dtype)
    v = torch.randn(shape_kv, device="cuda").to(dtype)
    out, lse = run_ring_on_one_gpu(gen, q, k, v)
    ref_out, ref_lse = reference(q, k, v, c["causal"])
    ours = (relative_error(out, ref_out), relative_error(lse, ref_lse))
    theirs = cudnn_errors(q, k, v, c["causal"], ref_out, ref_lse)
    gen.close()
    ok = all(math.isfinite(x) for x in ours) and ours[0] <= 1.5 * theirs[0] and \
        ours[1] <= max(1.5 * theirs[1], 1e-5)
    case = {"dir": os.path.basename(directory.rstrip("/")), "cp": c["cp"],
            "seq": c["seq"], "heads": c["heads"], "kv_heads": c["kv_heads"],
            "head_dim": c["head_dim"], "dtype": c["dtype"], "layout": c["layout"],
            "causal": c["causal"], "batch": batch, "out_err": ours[0],
            "lse_err": ours[1], "cudnn_out_err": theirs[0],
            "cudnn_lse_err": theirs[1], "pass": ok}
    print(("PASS" if ok else "FAIL") +
          " {dir} b={batch}: out {out_err:.3e} (cuDNN {cudnn_out_err:.3e}), "
          "lse {lse_err:.3e} (cuDNN {cudnn_lse_err:.3e})".format(**case), flush=True)
    return case


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+", help="ringattn-gen output directories")
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", help="write the cases here")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}; device {torch.cuda.get_device_name()}", flush=True)
    cases = []
    for directory in args.dirs:
        for batch in args.batch:
            try:
                cases.append(check(directory, batch, seed + len(cases)))
            except Exception as error:  # report and go on: one case, one line
                print(f"FAIL {directory} b={batch}: {error}", flush=True)
                cases.append({"dir": directory, "batch": batch, "pass": False,
                              "error": str(error)})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": seed, "device": torch.cuda.get_device_name(),
                       "cases": cases}, f, indent=1)
    failed = sum(not c["pass"] for c in cases)
    print(f"{len(cases) - failed}/{len(cases)} passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
