#!/usr/bin/env python3
"""Trains a small Qwen3-style causal transformer with ring attention, or on one
GPU with PyTorch SDPA, on the same synthetic data from the same initialization.

  # one GPU, PyTorch SDPA (the baselines)
  python3 examples/train_ring.py --single --backend cudnn --json cudnn.json
  python3 examples/train_ring.py --single --backend flash --json flash.json
  # two GPUs, ringattn (a package generated for the model's attention, cp = 2)
  torchrun --standalone --nproc_per_node 2 examples/train_ring.py --ring PKG_DIR --json ring.json
  # the curves and the gap criterion (CPU, no torch needed)
  python3 examples/plot_losses.py --ring ring.json --cudnn cudnn.json --flash flash.json --png losses.png

The model: 4 layers of dim 1024, 8 query heads and 2 KV heads of 128 (GQA),
RoPE (theta 1e6), RMSNorm (QK-norm too), SwiGLU MLP 3072, vocab 4096,
untied head; fp32 parameters, bf16 autocast, AdamW. Data: sequences of a
fixed random Markov chain (each token has 4 successors with probabilities
0.4/0.3/0.2/0.1), drawn from a fixed-seed generator, so every run sees the
same batches; the loss falls from ln(4096) = 8.3 towards the chain's entropy
(1.28). Every run builds the model from the same seed in the same order.

With --ring every rank holds its zigzag shard of each sequence (tokens,
labels and RoPE positions from the package's layout); the ring attends
across the shards. The loss is the mean over all tokens (all_reduce of the
sum; each rank backpropagates its share of it) and the parameter gradients
are averaged over the ranks (all_reduce AVG), so every rank applies the
same update. The JSON holds the per-step losses, tokens/s and the setup.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))

MODEL = dict(vocab=4096, dim=1024, layers=4, heads=8, kv_heads=2, head_dim=128,
             hidden=3072, rope_theta=1e6, eps=1e-6)
SUCCESSORS = 4
SUCCESSOR_PROBS = [0.4, 0.3, 0.2, 0.1]


# -- the model ------------------------------------------------------------------

class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        xf = x.float()
        y = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return (y * self.weight).to(x.dtype)


def rope_tables(positions, head_dim, theta):
    """cos, sin [S, head_dim] (fp32) of the given global positions."""
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, device=positions.device,
                                        dtype=torch.float64) / head_dim))
    freqs = positions.to(torch.float64)[:, None] * inv[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().float(), emb.sin().float()


def apply_rope(x, cos, sin):
    """x [B, S, H, D] rotated by the tables of its S positions."""
    xf = x.float()
    x1, x2 = xf.chunk(2, dim=-1)
    rotated = torch.cat([-x2, x1], dim=-1)
    return (xf * cos[None, :, None, :] + rotated * sin[None, :, None, :]).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = c["heads"], c["kv_heads"], c["head_dim"]
        self.q_proj = nn.Linear(c["dim"], c["heads"] * c["head_dim"], bias=False)
        self.k_proj = nn.Linear(c["dim"], c["kv_heads"] * c["head_dim"], bias=False)
        self.v_proj = nn.Linear(c["dim"], c["kv_heads"] * c["head_dim"], bias=False)
        self.o_proj = nn.Linear(c["heads"] * c["head_dim"], c["dim"], bias=False)
        self.q_norm = RMSNorm(c["head_dim"], c["eps"])
        self.k_norm = RMSNorm(c["head_dim"], c["eps"])

    def forward(self, x, cos, sin, attend):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.head_dim)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.head_dim)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.head_dim)
        q = apply_rope(self.q_norm(q), cos, sin)
        k = apply_rope(self.k_norm(k), cos, sin)
        dt = torch.bfloat16
        out = attend(q.to(dt).contiguous(), k.to(dt).contiguous(), v.to(dt).contiguous())
        return self.o_proj(out.reshape(b, s, self.heads * self.head_dim))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gate_proj = nn.Linear(c["dim"], c["hidden"], bias=False)
        self.up_proj = nn.Linear(c["dim"], c["hidden"], bias=False)
        self.down_proj = nn.Linear(c["hidden"], c["dim"], bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.input_norm = RMSNorm(c["dim"], c["eps"])
        self.attn = Attention(c)
        self.post_norm = RMSNorm(c["dim"], c["eps"])
        self.mlp = MLP(c)

    def forward(self, h, cos, sin, attend):
        h = h + self.attn(self.input_norm(h), cos, sin, attend)
        return h + self.mlp(self.post_norm(h))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embed = nn.Embedding(c["vocab"], c["dim"])
        self.layers = nn.ModuleList([Block(c) for _ in range(c["layers"])])
        self.norm = RMSNorm(c["dim"], c["eps"])
        self.lm_head = nn.Linear(c["dim"], c["vocab"], bias=False)

    def forward(self, tokens, positions, attend):
        """tokens [B, S] (this rank's tokens), positions [S] (their global
        positions) -> logits [B, S, vocab]."""
        cos, sin = rope_tables(positions, self.c["head_dim"], self.c["rope_theta"])
        h = self.embed(tokens)
        for layer in self.layers:
            h = layer(h, cos, sin, attend)
        return self.lm_head(self.norm(h))


def build_model(c, seed):
    """The same parameters on every run: built on the CPU from `seed`, in
    named_parameters order; normal(0.02), residual outputs scaled down."""
    model = Model(c)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.fill_(1.0)
                continue
            std = 0.02
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                std /= math.sqrt(2 * c["layers"])
            p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


# -- attention implementations ----------------------------------------------------

def sdpa_attention(backend_name):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    backend = {"cudnn": SDPBackend.CUDNN_ATTENTION, "flash": SDPBackend.FLASH_ATTENTION,
               "math": SDPBackend.MATH, "efficient": SDPBackend.EFFICIENT_ATTENTION}[backend_name]

    def attend(q, k, v):
        group = q.shape[2] // k.shape[2]
        qh = q.transpose(1, 2)
        kh = k.repeat_interleave(group, dim=2).transpose(1, 2)
        vh = v.repeat_interleave(group, dim=2).transpose(1, 2)
        with sdpa_kernel(backend):
            out = F.scaled_dot_product_attention(qh, kh, vh, is_causal=True)
        return out.transpose(1, 2)
    return attend


def masked_attention(q, k, v, q_positions, k_positions):
    """Plain matmul + softmax in fp32, causal by global positions: q [B, Sq,
    H, D] at q_positions [Sq], k/v [B, Sk, Hkv, D] at k_positions [Sk]."""
    group = q.shape[2] // k.shape[2]
    qh = q.float().transpose(1, 2)
    kh = k.float().repeat_interleave(group, dim=2).transpose(1, 2)
    vh = v.float().repeat_interleave(group, dim=2).transpose(1, 2)
    scores = torch.matmul(qh, kh.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    hidden = k_positions[None, :] > q_positions[:, None]
    probs = torch.softmax(scores.masked_fill(hidden, float("-inf")), dim=-1)
    return torch.matmul(probs, vh).to(q.dtype).transpose(1, 2)


def eager_attention(q, k, v):
    """One device, plain attention (a CPU smoke test; slow and big)."""
    positions = torch.arange(q.shape[1], device=q.device)
    return masked_attention(q, k, v, positions, positions)


def gathered_attention(layout, q_positions):
    """The ring emulated: every rank all-gathers K and V (differentiable),
    unshards them and attends with plain attention. No ringattn: a reference
    for the sharded training logic (works on the CPU with gloo)."""
    from torch.distributed.nn.functional import all_gather
    from ringattn.tensors import unshard
    k_positions = torch.arange(layout.seq, device=q_positions.device)

    def attend(q, k, v):
        # fp32 on the wire (gloo has no bf16); the attention is fp32 anyway.
        k_full = unshard(all_gather(k.float().contiguous()), layout)
        v_full = unshard(all_gather(v.float().contiguous()), layout)
        return masked_attention(q, k_full, v_full, q_positions, k_positions)
    return attend


# -- data -------------------------------------------------------------------------

def make_data(steps, batch, seq, vocab, seed):
    """[steps, batch, seq + 1] int64 on the CPU: sequences of a random Markov
    chain, the same for every run with the same arguments."""
    g = torch.Generator().manual_seed(seed + 1)
    successors = torch.randint(0, vocab, (vocab, SUCCESSORS), generator=g)
    n = steps * batch
    probs = torch.tensor(SUCCESSOR_PROBS, dtype=torch.float64).expand(n, SUCCESSORS)
    choice = torch.multinomial(probs, seq, replacement=True, generator=g)
    tokens = torch.empty(n, seq + 1, dtype=torch.int64)
    tokens[:, 0] = torch.randint(0, vocab, (n,), generator=g)
    for t in range(seq):
        tokens[:, t + 1] = successors[tokens[:, t], choice[:, t]]
    return tokens.view(steps, batch, seq + 1)


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.1 + 0.9 * 0.5 * (1.0 + math.cos(math.pi * progress)))


# -- the run ----------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--single", action="store_true", help="one GPU, PyTorch SDPA")
    mode.add_argument("--ring", metavar="PKG_DIR",
                      help="ringattn on cp GPUs (torchrun, one process per GPU); "
                           "'emulate': the same sharded training with all-gathered K/V "
                           "and plain attention instead of ringattn (with --device cpu: "
                           "gloo on the CPU)")
    parser.add_argument("--backend", default="cudnn",
                        choices=["cudnn", "flash", "efficient", "math", "eager"],
                        help="--single: the SDPA backend (eager: plain matmul/softmax)")
    parser.add_argument("--json", help="write the losses and figures here (rank 0)")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--seq", type=int, default=4096)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--log-every", type=int, default=25)
    parser.add_argument("--device", default="cuda",
                        help="--single or --ring emulate: cuda or cpu (smoke tests)")
    parser.add_argument("--layers", type=int, default=MODEL["layers"],
                        help="a smaller model for smoke tests")
    parser.add_argument("--dim", type=int, default=MODEL["dim"])
    parser.add_argument("--hidden", type=int, default=MODEL["hidden"])
    parser.add_argument("--vocab", type=int, default=MODEL["vocab"])
    args = parser.parse_args()
    c = dict(MODEL, layers=args.layers, dim=args.dim, hidden=args.hidden, vocab=args.vocab)

    ring = shard_fn = None
    rank, world = 0, 1
    if args.ring:
        import torch.distributed as dist
        from datetime import timedelta
        emulate = args.ring == "emulate"
        if args.device == "cpu":  # gloo: --ring emulate only (ringattn needs CUDA)
            device = torch.device("cpu")
            dist.init_process_group("gloo", timeout=timedelta(seconds=300))
        else:
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            torch.cuda.set_device(local_rank)
            device = torch.device("cuda", local_rank)
            dist.init_process_group("nccl", device_id=device, timeout=timedelta(seconds=300))
        rank, world = dist.get_rank(), dist.get_world_size()
        if emulate:
            from ringattn.layout import Layout
            from ringattn.tensors import position_ids, shard
            layout = Layout.zigzag(world, args.seq)
            positions = position_ids(layout, rank, device)
            attend = gathered_attention(layout, positions)

            def shard_fn(x):
                return shard(x, layout, rank)
            label = f"emulated ring cp={world} (all-gathered K/V, plain attention)"
        else:
            from ringattn import RingAttention, ring_attention
            ring = RingAttention(args.ring, timeout_ms=120000, expect=dict(
                seq=args.seq, heads=c["heads"], kv_heads=c["kv_heads"],
                head_dim=c["head_dim"], dtype="bf16", causal=True))
            ring.prepare(args.batch)
            positions = ring.position_ids(device)
            shard_fn = ring.shard

            def attend(q, k, v):
                return ring_attention(q, k, v, ring)
            label = f"ringattn cp={world} ({os.path.basename(os.path.normpath(args.ring))})"
    else:
        device = torch.device(args.device)
        if device.type == "cuda":
            torch.cuda.set_device(device.index or 0)
        attend = eager_attention if args.backend == "eager" else sdpa_attention(args.backend)
        label = f"single GPU, SDPA {args.backend}" if device.type == "cuda" else \
            f"single CPU, {args.backend}"
        positions = torch.arange(args.seq, device=device)
    if args.seq % (2 * world):
        raise SystemExit(f"--seq {args.seq} must be a multiple of {2 * world}")

    torch.manual_seed(args.seed)
    model = build_model(c, args.seed).to(device)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=args.lr, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.0)
    data = make_data(args.steps, args.batch, args.seq, c["vocab"], args.seed)
    global_tokens = args.batch * args.seq
    n_params = sum(p.numel() for p in params)
    if rank == 0:
        print(f"{label}: {n_params / 1e6:.1f}M parameters, {args.steps} steps of "
              f"{args.batch} x {args.seq} tokens", flush=True)

    losses = []
    warm = min(10, args.steps - 1)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    start = t0 = time.time()
    for step in range(args.steps):
        if step == warm:
            sync()
            t0 = time.time()
        for group in opt.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, args.warmup)
        batch = data[step].to(device, non_blocking=True)
        inputs, labels = batch[:, :-1], batch[:, 1:]
        if shard_fn is not None:
            inputs, labels = shard_fn(inputs), shard_fn(labels)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
            logits = model(inputs, positions, attend)
        loss_sum = F.cross_entropy(logits.float().flatten(0, 1), labels.flatten(),
                                   reduction="sum")
        if shard_fn is not None:
            # This rank's share of the global mean; averaging the ranks'
            # gradients then gives the gradient of the global mean.
            (loss_sum * (world / global_tokens)).backward()
            flat = torch.cat([p.grad.reshape(-1) for p in params])
            dist.all_reduce(flat, op=dist.ReduceOp.SUM)  # the average (gloo has no AVG)
            flat.div_(world)
            offset = 0
            for p in params:
                n = p.numel()
                p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
                offset += n
            total = loss_sum.detach().clone()
            dist.all_reduce(total, op=dist.ReduceOp.SUM)
            loss = total / global_tokens
        else:
            (loss_sum / global_tokens).backward()
            loss = loss_sum.detach() / global_tokens
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss)
        if rank == 0 and (step % args.log_every == 0 or step == args.steps - 1):
            print(f"step {step:4d}  loss {loss.item():.4f}  lr {opt.param_groups[0]['lr']:.2e}",
                  flush=True)
    sync()
    elapsed = time.time() - t0
    losses = [float(x) for x in torch.stack(losses).tolist()]
    timed_steps = args.steps - warm
    tokens_per_s = timed_steps * global_tokens / elapsed if elapsed > 0 else float("nan")
    step_ms = 1000.0 * elapsed / max(1, timed_steps)
    finite = all(math.isfinite(x) for x in losses)
    if rank == 0:
        print(f"{label}: loss {losses[0]:.4f} -> {losses[-1]:.4f}; {tokens_per_s:,.0f} "
              f"tokens/s ({step_ms:.1f} ms/step over steps {warm}..{args.steps - 1}); "
              f"total {time.time() - start:.1f} s", flush=True)
        if args.json:
            record = {
                "mode": "single" if shard_fn is None else "ring",
                "backend": (args.backend if shard_fn is None else
                            "ringattn" if ring is not None else "emulated"),
                "label": label, "package": args.ring,
                "package_description": ring.description if ring is not None else None,
                "world": world, "device": (torch.cuda.get_device_name(device)
                                           if device.type == "cuda" else "cpu"),
                "torch": torch.__version__, "model": c, "steps": args.steps,
                "batch": args.batch, "seq": args.seq, "lr": args.lr, "warmup": args.warmup,
                "seed": args.seed, "parameters": n_params, "tokens_per_s": tokens_per_s,
                "step_ms": step_ms, "timed_steps": [warm, args.steps - 1],
                "losses": losses}
            with open(args.json, "w") as f:
                json.dump(record, f, indent=1)
    if ring is not None:
        ring.close()
    if shard_fn is not None:
        dist.barrier()
        dist.destroy_process_group()
    if not finite:
        print(f"rank {rank}: non-finite loss", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
