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

import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402


def check(directory, batch, seed):
    gen = common.Generated(directory)
    c = gen.config
    torch.manual_seed(seed)
    dtype = common.DTYPES[c["dtype"]]
    shape_q = (batch, c["seq"], c["heads"], c["head_dim"])
    shape_kv = (batch, c["seq"], c["kv_heads"], c["head_dim"])
    q = torch.randn(shape_q, device="cuda").to(dtype)
    k = torch.randn(shape_kv, device="cuda").to(dtype)
    v = torch.randn(shape_kv, device="cuda").to(dtype)
    out, lse = common.ring_forward(gen, q, k, v)
    gen.close()
    ref_out, ref_lse = common.reference(q, k, v, c["causal"])
    ours = (common.relative_error(out, ref_out), common.relative_error(lse, ref_lse))
    cudnn_out, cudnn_lse = common.cudnn_run(q, k, v, c["causal"])
    theirs = (common.relative_error(cudnn_out, ref_out),
              common.relative_error(cudnn_lse, ref_lse))
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
    common.run_checks(__doc__, check, "ringattn-gen output directories")


if __name__ == "__main__":
    main()
