#!/usr/bin/env python3
"""Probes the primitives of the planned copy-engine ring transport
(docs/ce-transport.md) on a machine with two GPUs, in one process:

  1. copy-engine bandwidth GPU 0 -> GPU 1 (peer copy) for 16 and 32 MiB;
  2. the same copies beside a compute-bound loop on GPU 1 (bf16 matmuls
     that fill every SM, as the backward kernel does): the loop's time with
     and without the copies, and the copies' bandwidth meanwhile;
  3. the hop's signalling: GPU 0 copies a block into GPU 1's buffer and
     writes a flag in GPU 1's memory (cuStreamWriteValue32 on a peer-mapped
     address); GPU 1's stream waits for the flag (cuStreamWaitValue32, EQ 1),
     resets it and checks the block; repeated, then GPU 1's side captured in
     a CUDA graph and replayed (the flags must reset themselves).

Prints one line per measurement and a JSON summary (--json). Wrap it in
timeout: a wait on a flag that is never written hangs its stream.

  timeout 120 python3 bench/ce_probe.py --json $OUT/ce-probe.json
"""

import argparse
import ctypes
import json
import sys

import torch

CU_STREAM_WAIT_VALUE_EQ = 0x1
CU_STREAM_WRITE_VALUE_DEFAULT = 0x0


def driver():
    lib = ctypes.CDLL("libcuda.so.1")
    write = lib.cuStreamWriteValue32_v2
    wait = lib.cuStreamWaitValue32_v2
    for fn in (write, wait):
        fn.argtypes = [ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_uint]
        fn.restype = ctypes.c_int
    return write, wait


def check(result, what):
    if result != 0:
        raise RuntimeError(f"{what} failed: CUresult {result}")


def enqueue_timed(stream, fn):
    """Enqueues fn() on `stream` between two timing events; returns them."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record(stream)
    with torch.cuda.stream(stream):
        fn()
    end.record(stream)
    return start, end


def timed(stream, fn, repeats=10):
    """Median milliseconds of fn() on `stream` (events on that stream)."""
    times = []
    for _ in range(repeats):
        start, end = enqueue_timed(stream, fn)
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json")
    args = parser.parse_args()
    if torch.cuda.device_count() < 2:
        sys.exit("ce_probe: needs two GPUs")
    if not torch.cuda.can_device_access_peer(0, 1):
        sys.exit("ce_probe: GPU 0 cannot access GPU 1 (no peer access)")
    g0, g1 = torch.device("cuda", 0), torch.device("cuda", 1)
    s0 = torch.cuda.Stream(g0)
    s1 = torch.cuda.Stream(g1)
    results = {"devices": [torch.cuda.get_device_name(0), torch.cuda.get_device_name(1)]}

    # 1. Bandwidth alone.
    mib = (16, 32)
    src = {m: torch.randn(m << 18, device=g0) for m in mib}          # m MiB of fp32
    dst = {m: torch.empty(m << 18, device=g1) for m in mib}
    dst[16].copy_(src[16])  # enables peer access both ways (torch does it lazily)
    torch.cuda.synchronize(g0)
    torch.cuda.synchronize(g1)
    for m in mib:
        ms = timed(s0, lambda: dst[m].copy_(src[m], non_blocking=True))
        results[f"copy_{m}MiB_ms"] = ms
        print(f"copy {m} MiB alone: {ms:.3f} ms, {m * 2**20 / ms / 1e6:.0f} GB/s", flush=True)

    # 2. Beside a compute-bound loop on GPU 1.
    with torch.cuda.device(g1):
        a = torch.randn(8192, 8192, device=g1, dtype=torch.bfloat16)
        b = torch.randn(8192, 8192, device=g1, dtype=torch.bfloat16)

        def compute():
            for _ in range(8):
                torch.matmul(a, b)
        alone = timed(s1, compute, repeats=5)
        results["compute_alone_ms"] = alone
        # Copies issued from GPU 0 while GPU 1 computes: start both, time both.
        beside, copy_ms = [], []
        for _ in range(5):
            torch.cuda.synchronize(g0)
            torch.cuda.synchronize(g1)
            k0, k1 = enqueue_timed(s1, compute)
            c0, c1 = enqueue_timed(s0, lambda: [dst[32].copy_(src[32], non_blocking=True)
                                                for _ in range(8)])
            k1.synchronize()
            c1.synchronize()
            beside.append(k0.elapsed_time(k1))
            copy_ms.append(c0.elapsed_time(c1) / 8)
        beside.sort()
        copy_ms.sort()
        results["compute_beside_copies_ms"] = beside[2]
        results["copy_32MiB_beside_compute_ms"] = copy_ms[2]
        print(f"compute alone {alone:.2f} ms, beside 8 x 32 MiB copies {beside[2]:.2f} ms "
              f"({beside[2] / alone:.3f}x); a 32 MiB copy meanwhile {copy_ms[2]:.3f} ms, "
              f"{32 * 2**20 / copy_ms[2] / 1e6:.0f} GB/s", flush=True)

    # 3. Signalling through stream memory operations.
    write, wait = driver()
    block = 4 << 20  # 4 MiB of fp32
    payload = torch.arange(block // 4, device=g0, dtype=torch.float32)
    landing = torch.zeros(block // 4, device=g1, dtype=torch.float32)
    flag = torch.zeros(1, device=g1, dtype=torch.int32)
    ok_runs = 0
    rounds = 20
    for r in range(rounds):
        landing.zero_()
        torch.cuda.synchronize(g1)
        with torch.cuda.device(g1):
            check(wait(s1.cuda_stream, flag.data_ptr(), 1, CU_STREAM_WAIT_VALUE_EQ),
                  "cuStreamWaitValue32")
            check(write(s1.cuda_stream, flag.data_ptr(), 0, CU_STREAM_WRITE_VALUE_DEFAULT),
                  "cuStreamWriteValue32 (reset)")
            with torch.cuda.stream(s1):
                seen = landing.sum()
        payload.add_(1.0)  # a new value each round, on GPU 0's default stream
        torch.cuda.current_stream(g0).synchronize()
        with torch.cuda.device(g0):
            with torch.cuda.stream(s0):
                landing.copy_(payload, non_blocking=True)
            check(write(s0.cuda_stream, flag.data_ptr(), 1, CU_STREAM_WRITE_VALUE_DEFAULT),
                  "cuStreamWriteValue32 (peer flag)")
        s1.synchronize()
        expected = payload.double().sum().item()
        ok_runs += abs(seen.item() - expected) <= 1e-6 * abs(expected)
    results["flag_rounds_ok"] = f"{ok_runs}/{rounds}"
    print(f"flagged hops: {ok_runs}/{rounds} saw the whole block", flush=True)

    # The receiving side in a CUDA graph: wait, reset, consume; replayed.
    graph = torch.cuda.CUDAGraph()
    out = torch.zeros(1, device=g1)
    with torch.cuda.device(g1):
        s1.synchronize()
        with torch.cuda.graph(graph, stream=s1):
            capture = torch.cuda.current_stream(g1).cuda_stream
            check(wait(capture, flag.data_ptr(), 1, CU_STREAM_WAIT_VALUE_EQ),
                  "cuStreamWaitValue32 (captured)")
            check(write(capture, flag.data_ptr(), 0, CU_STREAM_WRITE_VALUE_DEFAULT),
                  "cuStreamWriteValue32 (captured)")
            out.copy_(landing.sum().reshape(1))
    ok_replays = 0
    for r in range(5):
        payload.add_(1.0)
        torch.cuda.current_stream(g0).synchronize()
        # On s1, not on GPU 1's current stream: PyTorch's peer copy below
        # waits for the destination's current stream, which the replay
        # would block until the flag that copy precedes.
        with torch.cuda.device(g1), torch.cuda.stream(s1):
            graph.replay()
        with torch.cuda.device(g0), torch.cuda.stream(s0):
            landing.copy_(payload, non_blocking=True)
        check(write(s0.cuda_stream, flag.data_ptr(), 1, CU_STREAM_WRITE_VALUE_DEFAULT),
              "cuStreamWriteValue32 (peer flag)")
        torch.cuda.synchronize(g1)
        expected = payload.double().sum().item()
        ok_replays += abs(out.item() - expected) <= 1e-6 * abs(expected)
    results["graph_replays_ok"] = f"{ok_replays}/5"
    print(f"graph replays: {ok_replays}/5 saw the whole block", flush=True)

    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
