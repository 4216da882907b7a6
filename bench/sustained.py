#!/usr/bin/env python3
"""Sustained load: each case of a cp = 1 package (ours, cuDNN, FA2; forward
and forward + backward) run back to back for a few seconds, with the GPU's
SM clock and power sampled (NVML) meanwhile. Tells whether a kernel that is
faster from a primed, cool start loses it to the power limit when it runs
without pause (a training step), and at what clock each implementation runs.

Per case: ms per run, TFLOP/s, mean SM clock (MHz), mean power (W), and the
share of samples with the power cap or a thermal slowdown active. The cases
take turns (`--rounds` rounds of `--seconds` each) so that a warming GPU
weighs on all of them alike. Prints a table; --json.
"""

import argparse
import ctypes
import json
import os
import statistics
import sys
import threading
import time

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "test", "GPU"))
import common  # noqa: E402
from attention_bench import make_cases  # noqa: E402

NVML_CLOCK_SM = 1
# Clock event reasons (nvml.h): software power cap, hardware slowdown,
# software and hardware thermal slowdown, power brake.
POWER_CAP = 0x4
SLOWDOWN = 0x8 | 0x20 | 0x40 | 0x80


class Sampler:
    """Samples SM clock, power and clock event reasons every `period` s."""

    def __init__(self, period=0.02):
        self.nvml = ctypes.CDLL("libnvidia-ml.so.1")
        if self.nvml.nvmlInit_v2() != 0:
            raise RuntimeError("nvmlInit failed")
        self.handle = ctypes.c_void_p()
        index = torch.cuda.current_device()
        if self.nvml.nvmlDeviceGetHandleByIndex_v2(index, ctypes.byref(self.handle)):
            raise RuntimeError("nvmlDeviceGetHandleByIndex failed")
        self.reasons = getattr(self.nvml, "nvmlDeviceGetCurrentClocksEventReasons",
                               None) or self.nvml.nvmlDeviceGetCurrentClocksThrottleReasons
        self.period = period
        self.samples = []
        self.running = False

    def sample(self):
        clock, power = ctypes.c_uint(), ctypes.c_uint()
        reasons = ctypes.c_ulonglong()
        self.nvml.nvmlDeviceGetClockInfo(self.handle, NVML_CLOCK_SM, ctypes.byref(clock))
        self.nvml.nvmlDeviceGetPowerUsage(self.handle, ctypes.byref(power))
        self.reasons(self.handle, ctypes.byref(reasons))
        return clock.value, power.value / 1000.0, reasons.value

    def __enter__(self):
        self.samples, self.running = [], True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def _loop(self):
        while self.running:
            self.samples.append(self.sample())
            time.sleep(self.period)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()


def run_for(fn, sets, seconds):
    """Runs fn back to back for about `seconds`; (runs, GPU ms per run)."""
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    runs, t0 = 0, time.time()
    while time.time() - t0 < seconds:
        for _ in range(4):
            fn(sets[runs % len(sets)])
            runs += 1
        torch.cuda.current_stream().synchronize()
    end.record()
    end.synchronize()
    return runs, start.elapsed_time(end) / runs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="+")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    sampler = Sampler()
    report = []
    print(f"device: {torch.cuda.get_device_name()} (sustained, {args.rounds} x "
          f"{args.seconds:g} s per case)")
    print(f"{'case':>24} {'ms':>8} {'TFLOP/s':>8} {'MHz':>6} {'W':>6} {'capped':>7}")
    for directory in args.dirs:
        gen = common.Generated(directory)
        c = gen.config
        flops = 4 * c["seq"] ** 2 * c["head_dim"] * c["heads"] * (
            0.5 if c["causal"] else 1.0)
        name = os.path.basename(directory.rstrip("/"))
        for what, cases in make_cases(gen, 1, 3).items():
            stats = {key: {"ms": [], "samples": []} for key in cases}
            for _ in range(args.rounds):
                for key, (fn, sets) in cases.items():
                    run_for(fn, sets, 0.2)  # settle into the case
                    with sampler:
                        _, ms = run_for(fn, sets, args.seconds)
                    stats[key]["ms"].append(ms)
                    stats[key]["samples"] += sampler.samples
            for key, st in stats.items():
                ms = statistics.median(st["ms"])
                samples = st["samples"]
                row = {"dir": name, "what": what, "who": key, "ms": ms,
                       "tflops": (3.5 if what == "fwdbwd" else 1.0) * flops / ms / 1e9,
                       "sm_mhz": statistics.mean(s[0] for s in samples),
                       "watts": statistics.mean(s[1] for s in samples),
                       "power_capped": sum(bool(s[2] & POWER_CAP) for s in samples)
                       / len(samples),
                       "slowed": sum(bool(s[2] & SLOWDOWN) for s in samples)
                       / len(samples)}
                report.append(row)
                print(f"{name + ' ' + what + ' ' + key:>24} {ms:8.3f} {row['tflops']:8.0f} "
                      f"{row['sm_mhz']:6.0f} {row['watts']:6.0f} {row['power_capped']:7.2f}")
        gen.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "rows": report}, f,
                      indent=1)


if __name__ == "__main__":
    main()
