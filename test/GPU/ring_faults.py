#!/usr/bin/env python3
"""Fault checks of the ring on two GPUs (run with torchrun, 2 processes).

  mismatch  ranks built for different configurations (or batch) are refused
            at context creation with CONFIG_MISMATCH on every rank;
  silent    rank 1 joins but never calls forward: rank 0's forward returns
            and its wait reports TIMEOUT within the bound (not a hang), and
            later calls report the sticky error;
  exit      rank 1 joins and exits: the same on rank 0.
  nccl      rank 0's next NCCL group fails (the ringattn_context_inject_fault
            hook, testing.h): its forward returns NCCL at once and fails the
            context; rank 1's wait reports TIMEOUT within the bound; both
            destroy their contexts (device memory back to where it was) and a
            new ring on a fresh id runs forward + backward;
  launch    the same with rank 0's next kernel launch failing in the driver
            (CUDA);
  death     both run forward, then rank 1 posts its backward behind a long
            kernel on its stream and exits with that backward still queued:
            rank 0, in its backward, waits on a transfer that never comes; its
            backward + wait reports TIMEOUT (or NCCL) within the bound, destroy
            frees ringattn's buffers, and a cp = 1 context (the --single
            package) works afterwards on the same device.

Memory: after destroy, ringattn's own buffers must all be freed (the
runtime's count, ringattn_testing_device_bytes, back to its earlier value);
in the nccl and launch scenarios the device's free memory must also return to
within 64 MiB of what it was before the context, within RELEASE_S after the
peer has destroyed its own context (a peer's mapping of NCCL's buffers keeps
them alive until then). After a peer's death the free memory is measured and
reported, not asserted: ncclCommAbort keeps NCCL's buffers then. With
--one-gpu (both ranks on GPU 0, RINGATTN_TRANSPORT=ce) the device's free
memory is reported only: the peer's process allocates on the same GPU
(its lazily loaded modules moved it by 90 MiB in one run).

The ranks share NCCL unique ids through files in --dir (no torch.distributed,
so a rank may exit). Prints one PASS/FAIL line per check on rank 0.
"""

import argparse
import ctypes
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
from ringattn.runtime import Package, RingAttnError, RingContext  # noqa: E402

BOUND_MS = 3000
SLACK_S = 3.0  # the bound, plus abort and polling
RELEASE_S = float(os.environ.get("RINGATTN_RELEASE_S", 15.0))  # peer teardown


def share_id(directory, name, rank, package):
    """Rank 0 makes an id and writes it; the others read it."""
    path = os.path.join(directory, name + ".id")
    if rank == 0:
        uid = package.unique_id()
        with open(path + ".tmp", "wb") as f:
            f.write(uid)
        os.rename(path + ".tmp", path)
        return uid
    if not wait_for_file(path):
        raise TimeoutError(f"no id file {path}")
    with open(path, "rb") as f:
        return f.read()


def wait_for_file(path, seconds=60):
    """Whether `path` appeared (another rank's signal) within `seconds`."""
    deadline = time.time() + seconds
    while not os.path.exists(path) and time.time() < deadline:
        time.sleep(0.01)
    return os.path.exists(path)


def expect_error(what, call, statuses):
    start = time.time()
    try:
        call()
    except RingAttnError as error:
        elapsed = time.time() - start
        return (error.status in statuses,
                f"{what}: {error} after {elapsed:.1f} s", elapsed)
    return False, f"{what}: no error", time.time() - start


def stalls(what, call):
    """call() (a forward or backward, then wait) facing a peer that is gone,
    silent or failed must end in TIMEOUT or NCCL within the bound."""
    ok, message, elapsed = expect_error(what, call, (7, 9))
    return ok and elapsed <= BOUND_MS / 1000 + SLACK_S, message, elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", help="a cp=2 package directory (built)")
    parser.add_argument("other", help="a cp=2 package of another configuration")
    parser.add_argument("--dir", required=True, help="a directory both ranks share")
    parser.add_argument("--single", help="a cp=1 package (built) for the death check")
    parser.add_argument("--scenarios", default="mismatch,silent,nccl,launch,exit",
                        help="comma-separated, in this order; exit and death end "
                             "rank 1, so each must come last (run death alone)")
    parser.add_argument("--json")
    parser.add_argument("--one-gpu", action="store_true",
                        help="both ranks on GPU 0 (RINGATTN_TRANSPORT=ce)")
    args = parser.parse_args()
    rank = int(os.environ["RANK"])
    if args.one_gpu and os.environ.get("RINGATTN_TRANSPORT") != "ce":
        parser.error("--one-gpu needs RINGATTN_TRANSPORT=ce")
    device = 0 if args.one_gpu else rank
    torch.cuda.set_device(device)
    lib_of = lambda d: os.path.join(d, "libringattn_package.so")
    package = Package(lib_of(args.package))
    other = Package(lib_of(args.other), library=package.lib)
    stream = torch.cuda.current_stream().cuda_stream
    results = []
    scenarios = args.scenarios.split(",")

    def report(ok, message, **extra):
        if rank == 0:
            print(("PASS " if ok else "FAIL ") + message, flush=True)
            results.append(dict(ok=ok, message=message, **extra))

    # mismatch: rank 1 brings the other package; then the same package with
    # another batch.
    mismatches = (("config", other, 1), ("batch", package, 2))
    for name, mine, batch in mismatches if "mismatch" in scenarios else ():
        uid = share_id(args.dir, "mismatch-" + name, rank, package)
        use, use_batch = (package, 1) if rank == 0 else (mine, batch)
        ok, message, _ = expect_error(
            f"mismatched {name} refused at creation (rank {rank})",
            lambda: RingContext(use, rank, device, use_batch, uid, BOUND_MS),
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

    def forward_and_wait(context, t):
        context.forward(t["q"], t["k"], t["v"], t["out"], t["lse"], stream)
        context.wait()

    def silent_or_exit(scenario):
        uid = share_id(args.dir, scenario, rank, package)
        context = RingContext(package, rank, device, 1, uid, BOUND_MS)
        done = os.path.join(args.dir, scenario + ".done")
        if rank == 1:
            if scenario == "exit":
                os._exit(0)  # no destroy, no goodbye
            # Silent until rank 0 has seen the error.
            wait_for_file(done)
            context.close()
            return
        t = tensors()
        # The error comes from forward (the first transfer's connection
        # setup) or from wait: TIMEOUT, or NCCL for a peer that is gone.
        ok, message, elapsed = stalls(f"{scenario} peer: forward + wait",
                                      lambda: forward_and_wait(context, t))
        report(ok, f"{message} (bound {BOUND_MS} ms)", seconds=elapsed)
        ok, message, _ = expect_error(
            f"{scenario} peer: next forward", lambda: context.forward(
                t["q"], t["k"], t["v"], t["out"], t["lse"], stream), (10,))
        report(ok, message)
        torch.cuda.synchronize()  # the aborted ring left the stream usable
        report(True, f"{scenario} peer: the caller's stream drained")
        context.close()
        open(done, "w").close()

    if "silent" in scenarios:
        silent_or_exit("silent")
    # nccl and launch: an injected fault on rank 0, then recovery.
    lib = package.lib
    lib.ringattn_context_inject_fault.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.ringattn_context_inject_fault.restype = ctypes.c_int
    lib.ringattn_testing_device_bytes.restype = ctypes.c_int64
    held = lib.ringattn_testing_device_bytes  # ringattn's own buffers
    grads = lambda: dict(
        dout=torch.randn(1, n, h, d, device="cuda").bfloat16(),
        dq=torch.empty(1, n, h, d, device="cuda").bfloat16(),
        dk=torch.empty(1, n, hkv, d, device="cuda").bfloat16(),
        dv=torch.empty(1, n, hkv, d, device="cuda").bfloat16())

    def free_bytes():
        torch.cuda.synchronize()
        return torch.cuda.mem_get_info()[0]

    def released(before):
        """Polls until the free memory is back (allocator slack aside)."""
        start = time.time()
        while True:
            after = free_bytes()
            if after >= before - (64 << 20) or time.time() - start > RELEASE_S:
                return after >= before - (64 << 20), (
                    f"{max(before - after, 0) / 2**20:.0f} MiB short after "
                    f"{time.time() - start:.1f} s")
            time.sleep(0.1)

    def step(context, t, g):
        context.forward(t["q"], t["k"], t["v"], t["out"], t["lse"], stream)
        context.backward(g["dout"], t["q"], t["k"], t["v"], t["out"], t["lse"],
                         g["dq"], g["dk"], g["dv"], stream)
        context.wait()
        torch.cuda.synchronize()
        return all(torch.isfinite(x.float()).all().item()
                   for x in (t["out"], g["dq"], g["dk"], g["dv"]))

    for scenario, fault, status in [x for x in (("nccl", 1, 7), ("launch", 2, 4))
                                    if x[0] in scenarios]:
        t, g = tensors(), grads()
        before, held_before = free_bytes(), held()
        uid = share_id(args.dir, scenario, rank, package)
        context = RingContext(package, rank, device, 1, uid, BOUND_MS)
        if rank == 0:
            package._check(lib.ringattn_context_inject_fault(context.handle, fault))
            ok, message, _ = expect_error(
                f"{scenario} fault: rank 0 forward", lambda: context.forward(
                    t["q"], t["k"], t["v"], t["out"], t["lse"], stream), (status,))
            report(ok, message)
            ok, message, _ = expect_error(
                f"{scenario} fault: rank 0 next forward", lambda: context.forward(
                    t["q"], t["k"], t["v"], t["out"], t["lse"], stream), (10,))
            report(ok, message)
        else:
            ok, message, _ = stalls(f"{scenario} fault: rank 1 (peer) forward + wait",
                                    lambda: forward_and_wait(context, t))
        torch.cuda.synchronize()
        context.close()
        if rank == 1:
            # Reports through a file once its context is gone (its mapping of
            # rank 0's NCCL buffers with it): only rank 0 prints.
            with open(os.path.join(args.dir, scenario + ".peer"), "w") as f:
                json.dump({"ok": ok, "message": message}, f)
        else:
            path = os.path.join(args.dir, scenario + ".peer")
            peer = json.load(open(path)) if wait_for_file(path) else {
                "ok": False, "message": f"{scenario}: rank 1 never reported"}
            report(peer["ok"], peer["message"] + f" (bound {BOUND_MS} ms)")
            report(held() == held_before, f"{scenario} fault: destroy freed ringattn's "
                   f"buffers ({held() - held_before} bytes left)")
            ok, shortfall = released(before)
            if args.one_gpu:  # the peer's process allocates on the same GPU
                report(True, f"{scenario} fault (measured, shared GPU): the "
                       f"device's free memory ({shortfall})")
            else:
                report(ok, f"{scenario} fault: the device's free memory came back "
                       f"({shortfall})")
        uid = share_id(args.dir, scenario + "-again", rank, package)
        again = RingContext(package, rank, device, 1, uid, BOUND_MS)
        ok = step(again, t, g)
        again.close()
        report(ok, f"{scenario} fault: a new ring on a fresh id runs forward + backward")

    if "exit" in scenarios:
        silent_or_exit("exit")

    # death: rank 1 exits in the middle of a backward.
    if "death" in scenarios:
        t, g = tensors(), grads()
        before, held_before = free_bytes(), held()
        uid = share_id(args.dir, "death", rank, package)
        context = RingContext(package, rank, device, 1, uid, BOUND_MS)
        context.forward(t["q"], t["k"], t["v"], t["out"], t["lse"], stream)
        context.wait()
        if rank == 1:
            # Its backward queued behind ~8 s of sleep (longer than rank 0's
            # bound), so it is still pending when the process ends: whether
            # the driver drops or drains it at exit, rank 0 never sees its
            # transfers in time.
            torch.cuda._sleep(16_000_000_000)
            context.backward(g["dout"], t["q"], t["k"], t["v"], t["out"], t["lse"],
                             g["dq"], g["dk"], g["dv"], stream)
            os._exit(0)  # no destroy, no goodbye

        def backward_and_wait():
            context.backward(g["dout"], t["q"], t["k"], t["v"], t["out"], t["lse"],
                             g["dq"], g["dk"], g["dv"], stream)
            context.wait()
        ok, message, elapsed = stalls("death mid-backward: backward + wait",
                                      backward_and_wait)
        report(ok, f"{message} (bound {BOUND_MS} ms)", seconds=elapsed)
        torch.cuda.synchronize()
        context.close()
        report(held() == held_before, "death mid-backward: destroy freed ringattn's "
               f"buffers ({held() - held_before} bytes left)")
        # NCCL's own buffers: measured, not asserted. With the peer dead,
        # ncclCommAbort (2.28) returns but keeps them (350 MiB here, still
        # held 60 s after the peer's process was gone: bench/results/
        # 2026-11-26-2xh200-faults); nothing in NCCL's API frees them.
        _, shortfall = released(before)
        report(True, f"death mid-backward (measured): the device's free memory "
               f"after destroy: {shortfall}")
        if args.single:
            single = Package(lib_of(args.single), library=package.lib)
            solo = RingContext(single, 0, 0, 1, None, BOUND_MS)
            m = single.local_length
            ts = dict(q=torch.randn(1, m, h, d, device="cuda").bfloat16(),
                      k=torch.randn(1, m, hkv, d, device="cuda").bfloat16(),
                      v=torch.randn(1, m, hkv, d, device="cuda").bfloat16(),
                      out=torch.empty(1, m, h, d, device="cuda").bfloat16(),
                      lse=torch.empty(1, h, m, device="cuda"))
            gs = dict(dout=torch.randn(1, m, h, d, device="cuda").bfloat16(),
                      dq=torch.empty(1, m, h, d, device="cuda").bfloat16(),
                      dk=torch.empty(1, m, hkv, d, device="cuda").bfloat16(),
                      dv=torch.empty(1, m, hkv, d, device="cuda").bfloat16())
            ok = step(solo, ts, gs)
            solo.close()
            report(ok, "death mid-backward: a cp = 1 context works afterwards")

    if rank == 0:
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1)
        failed = sum(not r["ok"] for r in results)
        print(f"{len(results) - failed}/{len(results)} fault checks passed", flush=True)
        sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
