#!/usr/bin/env python3
"""Checks ringattn's PyTorch custom op (python/ringattn/ops.py) on real GPUs:
one process per GPU under torchrun, each a rank of the ring.

  torchrun --standalone --nproc_per_node 2 test/GPU/torch_op_check.py \\
      DIR:BATCH [DIR:BATCH ...] [--cp1 CP1_DIR] [--json out.json]

DIR is a ringattn-gen output directory with its package module
(libringattn_package.so) built into it; RINGATTN_RUNTIME_LIB names the runtime
library. A case with cp = the number of processes runs as a ring; a cp = 1
case runs on every rank alone. For every case all ranks draw the same full
random q, k, v, dout [B, S, H, D], take their zigzag shards (ring.shard),
run ring_attention forward and backward through autograd, and all-gather
out, LSE, dQ, dK, dV back into the global order (ring.gather); rank 0
compares them with dense causal attention in fp64 on the same rounded inputs,
next to cuDNN's error on the same inputs. Pass: relative error of out, dQ,
dK, dV at most 1.5x cuDNN's, LSE at most max(1.5x cuDNN's, 1e-5), no NaN
(as test/GPU/ring_check.py).

The first case also runs: a CUDA graph capture (torch.cuda.graph) of
forward + backward (torch.autograd.grad), replayed on the same and on new
inputs (equal to eager: bit for bit, but for the gradients of a package
that is not --deterministic, within 1e-3 relative); torch.compile(fullgraph=True) of the op
(inductor and aot_eager) and of an attention block (projections, RoPE, the
op, output projection; inductor) with backward; the argument checks with a
real context (wrong dtype, device, shapes, layout, options, handle; the ring
still runs after them); the configuration checks (a package for another
seq, heads, head_dim or dtype; world size != cp with --cp1; rank out of
range); torch.library.opcheck of both ops.

Prints one PASS/FAIL line per check and "N/M passed"; exits non-zero on a
failure.
"""

import argparse
import json
import math
import os
import sys
import time
import traceback

import torch
import torch._dynamo  # noqa: F401  (torch._dynamo.reset)
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402  (adds python/ to sys.path)
from ringattn import RingAttention, ring_attention  # noqa: E402

NAMES = ("out", "lse", "dq", "dk", "dv")


class Checks:
    """PASS/FAIL lines; a check passes when it passes on every rank."""

    def __init__(self, rank, world):
        self.rank, self.world = rank, world
        self.results = []

    def agree(self, ok):
        if self.world == 1:
            return ok
        flag = torch.tensor([1 if ok else 0], dtype=torch.int32, device="cuda")
        dist.all_reduce(flag, op=dist.ReduceOp.MIN)
        return bool(flag.item())

    def run(self, name, body):
        """body() -> (ok, detail) on every rank (rank 0's detail is printed)."""
        start = time.time()
        try:
            ok, detail = body()
        except Exception as error:
            ok, detail = False, f"{type(error).__name__}: {error}"
            print(f"rank {self.rank}: {name}: {traceback.format_exc()}", flush=True)
        if not ok and self.rank != 0:
            print(f"FAIL rank {self.rank} {name}: {detail}", flush=True)
        ok = self.agree(ok)
        seconds = time.time() - start
        if self.rank == 0:
            print(f"{'PASS' if ok else 'FAIL'} {name}: {detail} [{seconds:.1f} s]", flush=True)
        self.results.append({"name": name, "pass": ok, "detail": detail,
                             "seconds": seconds})
        return ok


# -- data and references --------------------------------------------------------

class Case:
    """One package and batch: full inputs, shards, the fp64 reference (rank 0)."""

    def __init__(self, directory, batch, seed, rank, world):
        self.directory, self.batch = directory, batch
        self.name = f"{os.path.basename(os.path.normpath(directory))} b={batch}"
        with open(os.path.join(directory, "manifest.json")) as f:
            manifest = json.load(f)
        config = manifest["config"]
        self.config = config
        # Whether dQ, dK and dV are bit-identical run to run.
        self.deterministic = all(k["deterministic"] for k in manifest["kernels"]
                                 if k["role"] == "backward")
        self.dtype = common.DTYPES[config["dtype"]]
        if config["cp"] == world:
            self.ring = RingAttention(directory, timeout_ms=120000)
        elif config["cp"] == 1:
            self.ring = RingAttention(directory, rank=0, world_size=1, timeout_ms=120000)
        else:
            raise ValueError(f"{directory}: cp={config['cp']} but {world} processes")
        self.rank = rank
        self.full = self.draw(seed)
        self.local = {k: self.ring.shard(v) for k, v in self.full.items()}
        self._reference = None

    def draw(self, seed):
        c, b = self.config, self.batch
        g = torch.Generator(device="cuda").manual_seed(seed)
        qs = (b, c["seq"], c["heads"], c["head_dim"])
        kvs = (b, c["seq"], c["kv_heads"], c["head_dim"])
        return {"q": torch.randn(qs, device="cuda", generator=g).to(self.dtype),
                "k": torch.randn(kvs, device="cuda", generator=g).to(self.dtype),
                "v": torch.randn(kvs, device="cuda", generator=g).to(self.dtype),
                "dout": torch.randn(qs, device="cuda", generator=g).to(self.dtype)}

    def leaves(self, local=None):
        local = local or self.local
        return [local[k].detach().clone().requires_grad_() for k in ("q", "k", "v")]

    def eager(self, local=None, fn=None):
        """Forward + backward through autograd on this rank's shards."""
        local = local or self.local
        q, k, v = self.leaves(local)
        if fn is None:
            out, lse = ring_attention(q, k, v, self.ring, return_lse=True)
        else:
            out, lse = fn(q, k, v)
        out.backward(local["dout"])
        torch.cuda.synchronize()
        return {"out": out.detach(), "lse": lse.detach(), "dq": q.grad, "dk": k.grad,
                "dv": v.grad}

    def gather(self, results):
        """Every rank's results, unsharded into the global order."""
        full = {k: self.ring.gather(results[k], dim=1) for k in ("out", "dq", "dk", "dv")}
        full["lse"] = self.ring.gather(results["lse"], dim=2)
        return full

    def reference(self):
        """(fp64 reference, cuDNN's errors against it); rank 0 only."""
        if self._reference is None:
            f = self.full
            ref = dict(zip(NAMES, common.reference(f["q"], f["k"], f["v"], True, f["dout"])))
            cudnn_out, cudnn_lse = common.cudnn_run(f["q"], f["k"], f["v"], True)
            _, cdq, cdk, cdv = common.cudnn_run(f["q"], f["k"], f["v"], True, f["dout"])
            cudnn = {"out": cudnn_out, "lse": cudnn_lse, "dq": cdq, "dk": cdk, "dv": cdv}
            errors = {k: common.relative_error(cudnn[k], ref[k]) for k in NAMES}
            self._reference = (ref, errors)
        return self._reference

    def judge(self, full):
        """Rank 0: (ok, detail) of global results against fp64 and cuDNN."""
        if self.rank != 0:
            return True, ""
        ref, theirs = self.reference()
        ours = {k: common.relative_error(full[k], ref[k]) for k in NAMES}
        bound = {k: max(1.5 * theirs[k], 1e-5) if k == "lse" else 1.5 * theirs[k]
                 for k in NAMES}
        ok = all(math.isfinite(ours[k]) and ours[k] <= bound[k] for k in NAMES)
        detail = ", ".join(f"{k} {ours[k]:.2e} (cuDNN {theirs[k]:.2e})" for k in NAMES)
        return ok, detail

    def close(self):
        self.ring.close()


def matches(a, b, deterministic):
    """out and LSE bit-identical; the gradients too if `deterministic`, else
    within 1e-3 relative (their reductions run in any order)."""
    def same(k):
        if deterministic or k in ("out", "lse"):
            return torch.equal(a[k], b[k])
        return common.relative_error(a[k], b[k]) <= 1e-3
    return all(same(k) for k in NAMES)


def expect_error(fn, types, fragment):
    """(ok, detail): fn() must raise one of `types` with `fragment` in its message."""
    try:
        fn()
    except Exception as error:
        message = str(error)
        # Dynamo wraps an error of the fake implementation: look down the chain.
        chain, e = [], error
        while e is not None and len(chain) < 8:
            chain.append(str(e))
            e = e.__cause__ or e.__context__
        found = any(fragment.lower() in m.lower() for m in chain)
        ok = isinstance(error, types) and found
        first = (message.splitlines() or [""])[0][:160]
        return ok, f"{type(error).__name__}: {first}"
    return False, "no exception"


# -- the checks -------------------------------------------------------------------

def check_eager(checks, case):
    state = {}

    def body():
        state["eager"] = case.eager()
        return case.judge(case.gather(state["eager"]))
    checks.run(f"eager {case.name}", body)
    return state.get("eager")


def check_graph(checks, case, eager):
    def body():
        q, k, v = case.leaves()
        dout = case.local["dout"].clone()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(2):  # warm up (the context exists already)
                o = ring_attention(q, k, v, case.ring)
                torch.autograd.grad(o, (q, k, v), dout)
        torch.cuda.current_stream().wait_stream(side)
        torch.cuda.synchronize()
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            g_out, g_lse = ring_attention(q, k, v, case.ring, return_lse=True)
            g_dq, g_dk, g_dv = torch.autograd.grad(g_out, (q, k, v), dout)
        captured = {"out": g_out.detach(), "lse": g_lse, "dq": g_dq, "dk": g_dk,
                    "dv": g_dv}
        with torch.no_grad():
            for t in captured.values():
                t.fill_(float("nan"))
        graph.replay()
        torch.cuda.synchronize()
        same = matches({k: t.clone() for k, t in captured.items()}, eager,
                       case.deterministic)
        # New inputs through the same graph, against an eager run on them.
        fresh = case.draw(4321 + case.batch)
        fresh_local = {name: case.ring.shard(t) for name, t in fresh.items()}
        with torch.no_grad():
            q.copy_(fresh_local["q"])
            k.copy_(fresh_local["k"])
            v.copy_(fresh_local["v"])
            dout.copy_(fresh_local["dout"])
        for _ in range(3):
            graph.replay()
        torch.cuda.synchronize()
        replayed = {name: t.clone() for name, t in captured.items()}
        fresh_eager = case.eager(fresh_local)
        same_fresh = matches(replayed, fresh_eager, case.deterministic)
        ok = same and same_fresh
        kind = "bit-identical" if case.deterministic else "out, lse bit-identical, grads 1e-3"
        return ok, (f"replay equal to eager ({kind}): same inputs {same}, new inputs "
                    f"{same_fresh}")
    checks.run(f"cuda graph {case.name}", body)


def check_compile(checks, case, eager, backend):
    def body():
        torch._dynamo.reset()
        ring = case.ring

        def attention(q, k, v):
            return ring_attention(q, k, v, ring, return_lse=True)
        compiled = torch.compile(attention, fullgraph=True, backend=backend)
        results = case.eager(fn=compiled)
        ok, detail = case.judge(case.gather(results))
        same = matches(results, eager, case.deterministic)
        return ok, f"{detail}; equal to eager: {same}"
    checks.run(f"torch.compile(fullgraph=True, backend={backend}) {case.name}", body)


def rope(x, positions):
    d = x.shape[-1]
    inv = 1.0 / (10000.0 ** (torch.arange(0, d, 2, device=x.device, dtype=torch.float32) / d))
    freqs = positions.float()[:, None] * inv[None, :]
    cos, sin = freqs.cos()[None, :, None, :], freqs.sin()[None, :, None, :]
    x1, x2 = x.float().chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1).to(x.dtype)


class Block(torch.nn.Module):
    """Projections, RoPE at the shard's global positions, the op, output."""

    def __init__(self, ring, dtype):
        super().__init__()
        c = ring.config
        self.ring, self.h, self.hkv, self.d = ring, c["heads"], c["kv_heads"], c["head_dim"]
        dim = self.h * self.d
        g = torch.Generator().manual_seed(7)
        make = lambda o, i: torch.nn.Parameter(
            (torch.randn(o, i, generator=g) / math.sqrt(i)).to(dtype).cuda())
        self.wq, self.wk = make(self.h * self.d, dim), make(self.hkv * self.d, dim)
        self.wv, self.wo = make(self.hkv * self.d, dim), make(dim, self.h * self.d)
        self.register_buffer("positions", ring.position_ids("cuda"))

    def forward(self, x):
        b, s, _ = x.shape
        q = rope((x @ self.wq.t()).view(b, s, self.h, self.d), self.positions)
        k = rope((x @ self.wk.t()).view(b, s, self.hkv, self.d), self.positions)
        v = (x @ self.wv.t()).view(b, s, self.hkv, self.d)
        out = ring_attention(q, k, v, self.ring)
        return out.reshape(b, s, self.h * self.d) @ self.wo.t()


def check_block(checks, case):
    def body():
        torch._dynamo.reset()
        c = case.config
        block = Block(case.ring, case.dtype)
        dim = c["heads"] * c["head_dim"]
        g = torch.Generator(device="cuda").manual_seed(99)
        x_full = torch.randn(case.batch, c["seq"], dim, device="cuda", generator=g).to(case.dtype)
        dy_full = torch.randn(case.batch, c["seq"], dim, device="cuda", generator=g).to(case.dtype)
        x, dy = case.ring.shard(x_full), case.ring.shard(dy_full)

        def run(module):
            xi = x.clone().requires_grad_()
            for p in block.parameters():
                p.grad = None
            y = module(xi)
            y.backward(dy)
            torch.cuda.synchronize()
            return [y.detach(), xi.grad] + [p.grad.clone() for p in block.parameters()]
        eager = run(block)
        compiled = run(torch.compile(block, fullgraph=True))
        errors = [common.relative_error(a, b.double()) for a, b in zip(compiled, eager)]
        ok = all(math.isfinite(e) and e <= 3e-2 for e in errors)
        names = ["y", "dx"] + [n for n, _ in block.named_parameters()]
        return ok, "compiled vs eager: " + ", ".join(
            f"{n} {e:.1e}" for n, e in zip(names, errors)) + " (bound 3e-2)"
    checks.run(f"torch.compile(fullgraph=True) attention block {case.name}", body)


def check_arguments(checks, case, eager):
    ring = case.ring
    q, k, v = (case.local[n] for n in ("q", "k", "v"))
    c = case.config
    other = torch.float16 if case.dtype == torch.bfloat16 else torch.bfloat16
    h = c["heads"]
    fewer_heads = q[:, :, :max(1, h // 2)].contiguous() if h > 1 else \
        torch.cat([q, q], dim=2)
    more_kv = torch.cat([k, k], dim=2)
    strided = q.transpose(1, 2).contiguous().transpose(1, 2)
    cases = [
        ("dtype", lambda: ring_attention(q.to(other), k, v, ring), TypeError, "dtype"),
        ("device", lambda: ring_attention(q.cpu(), k.cpu(), v.cpu(), ring), ValueError,
         "cuda"),
        ("heads", lambda: ring_attention(fewer_heads, k, v, ring), ValueError, "heads"),
        ("kv_heads", lambda: ring_attention(q, more_kv, more_kv, ring), ValueError,
         "kv_heads"),
        ("head_dim", lambda: ring_attention(q[..., :q.shape[-1] // 2].contiguous(), k, v,
                                            ring), ValueError, "head_dim"),
        ("full sequence", lambda: ring_attention(case.full["q"], case.full["k"],
                                                 case.full["v"], ring), ValueError,
         "whole sequence"),
        ("non-contiguous", lambda: ring_attention(strided, k, v, ring), ValueError,
         "contiguous"),
        ("batch", lambda: ring_attention(q, torch.cat([k, k]), torch.cat([v, v]), ring),
         ValueError, "batch"),
        ("not a tensor", lambda: ring_attention([1.0], k, v, ring), TypeError,
         "torch.Tensor"),
        ("causal=False", lambda: ring_attention(q, k, v, ring, causal=False), ValueError,
         "causal"),
        ("softmax_scale", lambda: ring_attention(q, k, v, ring, softmax_scale=0.5),
         ValueError, "softmax_scale"),
        ("op: heads", lambda: torch.ops.ringattn.forward(fewer_heads, k, v, ring.handle),
         Exception, "heads"),
        ("op: handle", lambda: torch.ops.ringattn.forward(q, k, v, 10 ** 6), Exception,
         "handle"),
        ("op: lse dtype", lambda: torch.ops.ringattn.backward(
            eager["out"], q, k, v, eager["out"], eager["lse"].to(case.dtype), ring.handle),
         Exception, "lse"),
        ("prepare(0)", lambda: ring.prepare(0), ValueError, "batch"),
    ]

    def body():
        lines, ok = [], True
        for name, fn, types, fragment in cases:
            good, detail = expect_error(fn, types, fragment)
            ok &= good
            if not good or checks.rank == 0:
                lines.append(f"{'ok' if good else 'WRONG'} {name} -> {detail}")
        if checks.rank == 0 or not ok:
            print("\n".join("    " + line for line in lines), flush=True)
        return ok, f"{len(cases)} wrong calls refused with the expected exceptions" \
            if ok else "some wrong call was not refused as expected (see above)"
    checks.run(f"argument checks with a real context {case.name}", body)

    def still_runs():
        again = case.eager()
        by_default = case.eager(fn=lambda a, b, c_: ring_attention(a, b, c_, return_lse=True))
        same, same_default = (matches(again, eager, case.deterministic),
                              matches(by_default, eager, case.deterministic))
        return same and same_default, (f"after the refused calls: equal to the first "
                                       f"run {same}; through the default ring {same_default}")
    checks.run(f"the ring still runs {case.name}", still_runs)

    def compile_rejects():
        torch._dynamo.reset()
        f = torch.compile(lambda a, b, c_: ring_attention(a, b, c_, ring), fullgraph=True)
        return expect_error(lambda: f(fewer_heads, k, v), Exception, "heads")
    checks.run(f"torch.compile refuses wrong heads at trace time {case.name}",
               compile_rejects)


def check_opcheck(checks, case, eager):
    def body():
        q, k, v = case.leaves()
        torch.library.opcheck(torch.ops.ringattn.forward.default,
                              (q, k, v, case.ring.handle),
                              test_utils=("test_schema", "test_autograd_registration",
                                          "test_faketensor"))
        torch.library.opcheck(torch.ops.ringattn.backward.default,
                              (case.local["dout"], q.detach(), k.detach(), v.detach(),
                               eager["out"], eager["lse"], case.ring.handle),
                              test_utils=("test_schema", "test_faketensor"))
        torch.cuda.synchronize()
        return True, "schema, autograd registration, fake tensor: forward and backward"
    checks.run(f"torch.library.opcheck {case.name}", body)


def check_configurations(checks, directory, cp1, world):
    c = json.load(open(os.path.join(directory, "manifest.json")))["config"]
    other_dtype = "fp16" if c["dtype"] == "bf16" else "bf16"
    cases = [
        ("seq", lambda: RingAttention(directory, expect={"seq": 2 * c["seq"]}), ValueError,
         "seq"),
        ("heads", lambda: RingAttention(directory, expect={"heads": 2 * c["heads"]}),
         ValueError, "heads"),
        ("kv_heads", lambda: RingAttention(directory, expect={"kv_heads": 2 * c["kv_heads"]}),
         ValueError, "kv_heads"),
        ("head_dim", lambda: RingAttention(directory, expect={"head_dim": 2 * c["head_dim"]}),
         ValueError, "head_dim"),
        ("dtype", lambda: RingAttention(directory, expect={"dtype": other_dtype}), ValueError,
         "dtype"),
        ("cp", lambda: RingAttention(directory, expect={"cp": 2 * c["cp"]}), ValueError, "cp"),
        ("rank out of range", lambda: RingAttention(directory, rank=world, world_size=world),
         ValueError, "out of range"),
        ("no such directory", lambda: RingAttention(directory + "-missing"),
         FileNotFoundError, "does not exist"),
    ]
    if cp1:
        cases.append(("world size != cp", lambda: RingAttention(cp1), ValueError,
                      "world size"))

    def body():
        lines, ok = [], True
        for name, fn, types, fragment in cases:
            good, detail = expect_error(fn, types, fragment)
            ok &= good
            lines.append(f"{'ok' if good else 'WRONG'} {name} -> {detail}")
        if checks.rank == 0 or not ok:
            print("\n".join("    " + line for line in lines), flush=True)
        return ok, f"{len(cases)} mismatched configurations refused"
    checks.run("configuration checks", body)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="+", help="DIR:BATCH")
    parser.add_argument("--cp1", help="a cp = 1 package (world size != cp check)")
    parser.add_argument("--json", help="write the results here (rank 0)")
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--no-compile", action="store_true", help="skip torch.compile checks")
    args = parser.parse_args()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", str(rank)))
    torch.cuda.set_device(local_rank)
    if world > 1:
        from datetime import timedelta
        dist.init_process_group("nccl", device_id=torch.device("cuda", local_rank),
                                timeout=timedelta(seconds=180))
    checks = Checks(rank, world)
    if rank == 0:
        print(f"{world} x {torch.cuda.get_device_name()}, torch {torch.__version__}, "
              f"seed {args.seed}", flush=True)
    first = True
    for index, spec in enumerate(args.cases):
        directory, batch = spec.rsplit(":", 1)
        case, error = None, None
        try:
            case = Case(directory, int(batch), args.seed + index, rank, world)
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
        if not checks.agree(error is None):  # every rank skips a case one cannot set up
            checks.run(f"setup {spec}", lambda: (error is None, error or "failed on a peer"))
            if case is not None:
                case.close()
            continue
        eager = check_eager(checks, case)
        if eager is not None and (first or case.config["cp"] == world):
            check_graph(checks, case, eager)
        if first and eager is not None:
            check_arguments(checks, case, eager)
            if not args.no_compile:
                check_compile(checks, case, eager, "inductor")
                check_compile(checks, case, eager, "aot_eager")
                check_block(checks, case)
            check_opcheck(checks, case, eager)
            check_configurations(checks, directory, args.cp1, world)
            first = False
        try:
            case.close()
        except Exception as error:
            checks.run(f"close {case.name}", lambda e=error: (False, str(e)))
        del case
        torch.cuda.empty_cache()
    passed = sum(r["pass"] for r in checks.results)
    if rank == 0:
        print(f"{passed}/{len(checks.results)} passed", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"world": world, "device": torch.cuda.get_device_name(),
                           "torch": torch.__version__, "seed": args.seed,
                           "checks": checks.results}, f, indent=1)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    sys.exit(0 if passed == len(checks.results) else 1)


if __name__ == "__main__":
    main()
