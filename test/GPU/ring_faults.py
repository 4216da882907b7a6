#!/usr/bin/env python3
"""Fault checks of the ring on two GPUs (run with torchrun, 2 processes).

  mismatch  ranks built for different configurations (or batch) are refused
            at context creation with CONFIG_MISMATCH on every rank;
  silent    rank 1 joins but never calls forward: rank 0's forward returns
            and its wait reports TIMEOUT within the bound (not a hang), and
            later calls report the sticky error;
  exit      rank 1 joins and exits: the same on rank 0.

The ranks share NCCL unique ids through files in --dir (no torch.distributed,
so a rank may exit). Prints one PASS/FAIL line per check on rank 0.
"""

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from ringattn.runtime import Package, RingAttnError, RingContext  # noqa: E402

BOUND_MS = 3000
SLACK_S = 3.0  # the bound, plus abort and polling


def share_id(directory, name, rank, package):
    """Rank 0 makes an id and writes it; the others read it."""
    path = os.path.join(directory, name + ".id")
    if rank == 0:
        uid = package.unique_id()
        with open(path + ".tmp", "wb") as f:
            f.write(uid)
        os.rename(path + ".tmp", path)
        return uid
    deadline = time.time() + 60
    while not os.path.exists(path):
        if time.time() > deadline:
            raise TimeoutError(f"no id file {path}")
        time.sleep(0.01)
    with open(path, "rb") as f:
        return f.read()


def expect_error(what, call, statuses):
    start = time.time()
    try:
        call()
    except RingAttnError as error:
        elapsed = time.time() - start
        return (error.status in statuses,
                f"{what}: {error} after {elapsed:.1f} s", elapsed)
    return False, f"{what}: no error", time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="a cp=2 package directory (built)")
    parser.add_argument("other", help="a cp=2 package of another configuration")
    parser.add_argument("--dir", required=True, help="a directory both ranks share")
    parser.add_argument("--json")
    args = parser.parse_args()
    rank = int(os.environ["RANK"])
    torch.cuda.set_device(rank)
    lib_of = lambda d: os.path.join(d, "libringattn_package.so")
    package = Package(lib_of(args.package))
    other = Package(lib_of(args.other), library=package.lib)
    stream = torch.cuda.current_stream().cuda_stream
    results = []

    def report(ok, message, **extra):
        if rank == 0:
            print(("PASS " if ok else "FAIL ") + message, flush=True)
            results.append(dict(ok=ok, message=message, **extra))

    # mismatch: rank 1 brings the other package; then the same package with
    # another batch.
    for name, mine, batch in (("config", other, 1), ("batch", package, 2)):
        uid = share_id(args.dir, "mismatch-" + name, rank, package)
        use, use_batch = (package, 1) if rank == 0 else (mine, batch)
        ok, message, _ = expect_error(
            f"mismatched {name} refused at creation (rank {rank})",
            lambda: RingContext(use, rank, rank, use_batch, uid, BOUND_MS),
            (8,))
        report(ok, message)

    # silent and exit: rank 1 joins, then never calls (or exits).
    n, h, hkv, d = package.local_length, package.heads, package.kv_heads, package.head_dim
    tensors = lambda: dict(
        q=torch.randn(1, n, h, d, device="cuda").bfloat16(),
        k=torch.randn(1, n, hkv, d, device="cuda").bfloat16(),
        v=torch.randn(1, n, hkv, d, device="cuda").bfloat16(),
        out=torch.empty(1, n, h, d, device="cuda").bfloat16(),
        lse=torch.empty(1, h, n, device="cuda"))
    for scenario in ("silent", "exit"):
        uid = share_id(args.dir, scenario, rank, package)
        context = RingContext(package, rank, rank, 1, uid, BOUND_MS)
        done = os.path.join(args.dir, scenario + ".done")
        if rank == 1:
            if scenario == "exit":
                os._exit(0)  # no destroy, no goodbye
            # Silent until rank 0 has seen the error.
            deadline = time.time() + 60
            while not os.path.exists(done) and time.time() < deadline:
                time.sleep(0.05)
            context.close()
            continue
        t = tensors()

        def forward_and_wait():
            context.forward(t["q"], t["k"], t["v"], t["out"], t["lse"], stream)
            context.wait()
        # The error comes from forward (the first transfer's connection
        # setup) or from wait: TIMEOUT, or NCCL for a peer that is gone.
        ok, message, elapsed = expect_error(
            f"{scenario} peer: forward + wait", forward_and_wait, (7, 9))
        ok = ok and elapsed <= BOUND_MS / 1000 + SLACK_S
        report(ok, f"{message} (bound {BOUND_MS} ms)", seconds=elapsed)
        ok, message, _ = expect_error(
            f"{scenario} peer: next forward", lambda: context.forward(
                t["q"], t["k"], t["v"], t["out"], t["lse"], stream), (10,))
        report(ok, message)
        torch.cuda.synchronize()  # the aborted ring left the stream usable
        report(True, f"{scenario} peer: the caller's stream drained")
        context.close()
        open(done, "w").close()
    if rank == 0:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        failed = sum(not r["ok"] for r in results)
        print(f"{len(results) - failed}/{len(results)} fault checks passed", flush=True)
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
