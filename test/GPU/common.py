"""Shared pieces of the GPU checks: layouts, fp64 references, the one-GPU
ring emulation of a generated package's forward and backward, errors, and
the command line the single-GPU checks share."""

import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from ringattn.runtime import Generated  # noqa: E402,F401

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


def _heads_first(x, group=1):
    """[B, S, H, D] -> fp64 [B, H*group, S, D]."""
    x = x.double().permute(0, 2, 1, 3)
    return x.repeat_interleave(group, dim=1) if group > 1 else x


def reference(q, k, v, causal, dout=None):
    """Dense attention in fp64 on the given (rounded) inputs, one sequence of
    the batch at a time (bounded memory).

    Returns out [B, S, H, D] and lse [B, H, S]; with dout also dq [B, S, H, D],
    dk and dv [B, S, Hkv, D].
    """
    parts = [_reference_one(q[i:i + 1], k[i:i + 1], v[i:i + 1], causal,
                            None if dout is None else dout[i:i + 1])
             for i in range(q.shape[0])]
    return tuple(torch.cat(p, dim=0) for p in zip(*parts))


def _reference_one(q, k, v, causal, dout):
    s = q.shape[1]
    # A block of scores is heads x rows x s fp64: keep it near 2 GiB.
    rows_per_block = max(16, min(256, (1 << 31) // (s * q.shape[2] * 8)))
    b, s, h, d = q.shape
    hkv = k.shape[2]
    group = h // hkv
    scale = 1.0 / math.sqrt(d)
    qd, kd, vd = _heads_first(q), _heads_first(k, group), _heads_first(v, group)
    cols = torch.arange(s, device=q.device)

    def scores_of(r0, r1):
        scores = torch.matmul(qd[:, :, r0:r1], kd.transpose(-1, -2)) * scale
        if causal:
            rows = torch.arange(r0, r1, device=q.device)
            scores.masked_fill_(cols[None, :] > rows[:, None], float("-inf"))
        return scores

    out = torch.empty(b, h, s, d, dtype=torch.float64, device=q.device)
    lse = torch.empty(b, h, s, dtype=torch.float64, device=q.device)
    for r0 in range(0, s, rows_per_block):
        r1 = min(s, r0 + rows_per_block)
        scores = scores_of(r0, r1)
        block_lse = torch.logsumexp(scores, dim=-1)
        out[:, :, r0:r1] = torch.matmul(torch.exp(scores - block_lse[..., None]), vd)
        lse[:, :, r0:r1] = block_lse
    if dout is None:
        return out.permute(0, 2, 1, 3), lse
    dod = _heads_first(dout)
    delta = (dod * out).sum(-1)
    dq = torch.empty_like(qd)
    dk = torch.zeros_like(kd)
    dv = torch.zeros_like(vd)
    for r0 in range(0, s, rows_per_block):
        r1 = min(s, r0 + rows_per_block)
        p = torch.exp(scores_of(r0, r1) - lse[:, :, r0:r1, None])
        dv += torch.matmul(p.transpose(-1, -2), dod[:, :, r0:r1])
        dp = torch.matmul(dod[:, :, r0:r1], vd.transpose(-1, -2))
        ds = p * (dp - delta[:, :, r0:r1, None])
        dq[:, :, r0:r1] = torch.matmul(ds, kd) * scale
        dk += torch.matmul(ds.transpose(-1, -2), qd[:, :, r0:r1]) * scale
    fold = lambda x: x.reshape(b, hkv, group, s, d).sum(2).permute(0, 2, 1, 3)
    return (out.permute(0, 2, 1, 3), lse, dq.permute(0, 2, 1, 3), fold(dk),
            fold(dv))


def relative_error(x, ref):
    """||x - ref|| / ||ref||; NaN if x has a non-finite element."""
    x = x.double()
    if not torch.isfinite(x).all():
        return float("nan")
    return (torch.linalg.vector_norm(x - ref) / torch.linalg.vector_norm(ref)).item()


def cudnn_run(q, k, v, causal, dout=None):
    """cuDNN (PyTorch SDPA) on the same inputs: out, lse and the gradients."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    group = q.shape[2] // k.shape[2]
    qh = q.permute(0, 2, 1, 3).detach().requires_grad_(dout is not None)
    kh = k.permute(0, 2, 1, 3).detach().requires_grad_(dout is not None)
    vh = v.permute(0, 2, 1, 3).detach().requires_grad_(dout is not None)
    ke, ve = kh.repeat_interleave(group, 1), vh.repeat_interleave(group, 1)
    if dout is None:
        result = torch.ops.aten._scaled_dot_product_cudnn_attention(
            qh, ke, ve, None, True, 0.0, causal, False)
        return result[0].permute(0, 2, 1, 3), result[1].reshape(q.shape[0], q.shape[2], -1)
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        out = torch.nn.functional.scaled_dot_product_attention(
            qh, ke, ve, is_causal=causal)
    out.backward(dout.permute(0, 2, 1, 3))
    return (out.permute(0, 2, 1, 3), qh.grad.permute(0, 2, 1, 3),
            kh.grad.permute(0, 2, 1, 3), vh.grad.permute(0, 2, 1, 3))


def nan_like(shape, dtype, device):
    return torch.full(shape, float("nan"), dtype=dtype, device=device)


def ring_forward(gen, q, k, v):
    """Every rank's forward launches, in ring order, on one GPU; returns the
    global out and lse."""
    config = gen.config
    cp = config["cp"]
    b, s, h, d = q.shape
    out = nan_like(q.shape, q.dtype, q.device)
    lse = nan_like((b, h, s), torch.float32, q.device)
    shards = [rank_positions(config, r).to(q.device) for r in range(cp)]
    k_shards = [k[:, pos].contiguous() for pos in shards]
    v_shards = [v[:, pos].contiguous() for pos in shards]
    for rank in range(cp):
        pos = shards[rank]
        n = pos.numel()
        q_local = q[:, pos].contiguous()
        o_acc = nan_like((b, n, h, d), torch.float32, q.device)
        lse_acc = nan_like((b, h, n), torch.float32, q.device)
        out_local = nan_like((b, n, h, d), q.dtype, q.device)
        lse_local = nan_like((b, h, n), torch.float32, q.device)
        for _, kernel, source in gen.forward_launches(rank):
            gen.launch_forward(kernel, q_local, k_shards[source], v_shards[source],
                               o_acc, lse_acc, out_local, lse_local)
        torch.cuda.synchronize()
        out[:, pos] = out_local
        lse[:, :, pos] = lse_local
    return out, lse


def ring_backward(gen, q, k, v, out, lse, dout):
    """Every rank's backward on one GPU, in ring order: each shard's fp32
    dK/dV accumulator receives the partials of ranks j, j+1, ... as it would
    travelling the ring. Returns global dq, dk, dv in the input dtype."""
    config = gen.config
    cp = config["cp"]
    b, s, h, d = q.shape
    hkv = k.shape[2]
    dev = q.device
    shards = [rank_positions(config, r).to(dev) for r in range(cp)]
    local = lambda x, r: x[:, shards[r]].contiguous()
    n = shards[0].numel()
    ranks = []
    for r in range(cp):
        rank = {"q": local(q, r), "k": local(k, r), "v": local(v, r),
                "out": local(out, r), "dout": local(dout, r),
                "lse": lse[:, :, shards[r]].contiguous(),
                "delta": nan_like((b, h, n), torch.float32, dev),
                "dq_acc": nan_like((b, n, h, d), torch.float32, dev),
                "acc": nan_like((2, b, n, hkv, d), torch.float32, dev),
                "steps": {st: (kern, dq, src)
                          for st, kern, dq, src in gen.backward_launches(r)}}
        gen.preprocess(rank["out"], rank["dout"], rank["delta"], rank["dq_acc"])
        ranks.append(rank)
    partial = nan_like((2, b, n, hkv, d), torch.float32, dev)
    for step in range(cp):
        for r in range(cp):
            if step not in ranks[r]["steps"]:
                continue
            kernel, dq_kernel, source = ranks[r]["steps"][step]
            me, shard = ranks[r], ranks[source]
            target = shard["acc"] if step == 0 else partial
            gen.launch_backward(kernel, me["q"], shard["k"], shard["v"],
                                me["dout"], me["lse"], me["delta"], me["dq_acc"],
                                target[0], target[1])
            if dq_kernel is not None:
                gen.launch_backward(dq_kernel, me["q"], shard["k"], shard["v"],
                                    me["dout"], me["lse"], me["delta"],
                                    me["dq_acc"], None, None)
            if step > 0:
                gen.accumulate(shard["acc"], partial, b)
    dq = nan_like(q.shape, q.dtype, dev)
    dk = nan_like(k.shape, k.dtype, dev)
    dv = nan_like(v.shape, v.dtype, dev)
    for r in range(cp):
        me = ranks[r]
        dq_r = nan_like((b, n, h, d), q.dtype, dev)
        dk_r = nan_like((b, n, hkv, d), q.dtype, dev)
        dv_r = nan_like((b, n, hkv, d), q.dtype, dev)
        gen.finalize(me["dq_acc"], me["acc"][0], me["acc"][1], dq_r, dk_r, dv_r)
        torch.cuda.synchronize()
        dq[:, shards[r]] = dq_r
        dk[:, shards[r]] = dk_r
        dv[:, shards[r]] = dv_r
    return dq, dk, dv


def positive_int(text):
    """argparse type of a count that must be at least 1 (--batch, --iters)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not at least 1")
    return value


def run_checks(doc, check, target_help, parse=None, note="", passed="passed"):
    """The command line of a single-GPU check: every target (a package
    directory, or what `parse` makes of it: the leading arguments of `check`
    and the fields of its failure record) at every --batch, a fresh random
    seed unless --seed, one line per case (a case that raises fails on its
    own line and the others still run), --json, exit status 1 if any case
    failed. `check(*arguments, batch, seed)` returns the case's record with
    its "pass"."""
    parse = parse or (lambda target: ((target,), {"dir": target}))
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("targets", nargs="+", help=target_help)
    parser.add_argument("--batch", type=positive_int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", help="write the cases here")
    args = parser.parse_args()
    try:
        parsed = [parse(target) for target in args.targets]
    except ValueError as error:
        parser.error(f"a target: {error}")
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(4), "little")
    print(f"seed {seed}; device {torch.cuda.get_device_name()}{note}", flush=True)
    cases = []
    for arguments, fields in parsed:
        for batch in args.batch:
            try:
                cases.append(check(*arguments, batch, seed + len(cases)))
            except Exception as error:  # report and go on: one case, one line
                print(f"FAIL {' '.join(map(str, arguments))} b={batch}: {error}", flush=True)
                cases.append({**fields, "batch": batch, "pass": False, "error": str(error)})
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": seed, "device": torch.cuda.get_device_name(),
                       "cases": cases}, f, indent=1)
    failed = sum(not c["pass"] for c in cases)
    print(f"{len(cases) - failed}/{len(cases)} {passed}")
    sys.exit(1 if failed else 0)
