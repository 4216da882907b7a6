#!/usr/bin/env python3
"""Checks generated backward kernels on the GPU against an fp64 reference.

For each ringattn-gen output directory: the forward (ring emulated on one
GPU, common.ring_forward) gives out and LSE; the backward runs every rank's
preprocess, step kernels, dK/dV accumulation and finalize in ring order
(common.ring_backward); dQ, dK and dV are compared with the fp64 dense
gradients of the same bf16/fp16 inputs, next to cuDNN's own errors (its own
forward and backward on the same inputs). Outputs, accumulators and partial
buffers start poisoned with NaN; inputs are fresh random normals. A
deterministic package (one generated with --deterministic) is
run twice and must be bit-identical.

Pass: each gradient's relative error no worse than 1.5x cuDNN's, no NaN.
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
    dout = torch.randn(shape_q, device="cuda").to(dtype)
    out, lse = common.ring_forward(gen, q, k, v)
    dq, dk, dv = common.ring_backward(gen, q, k, v, out, lse, dout)
    deterministic = any(k["deterministic"] for k in gen.manifest["kernels"]
                        if k["role"] == "backward")
    identical = None
    if deterministic:
        again = common.ring_backward(gen, q, k, v, out, lse, dout)
        identical = all(torch.equal(a.view(torch.int16), b.view(torch.int16))
                        for a, b in zip((dq, dk, dv), again))
    gen.close()
    _, _, rdq, rdk, rdv = common.reference(q, k, v, c["causal"], dout)
    _, cdq, cdk, cdv = common.cudnn_run(q, k, v, c["causal"], dout)
    ours = [common.relative_error(x, r) for x, r in ((dq, rdq), (dk, rdk), (dv, rdv))]
    theirs = [common.relative_error(x, r) for x, r in ((cdq, rdq), (cdk, rdk), (cdv, rdv))]
    ok = all(math.isfinite(e) and e <= 1.5 * t for e, t in zip(ours, theirs))
    if identical is not None:
        ok = ok and identical
    case = {"dir": os.path.basename(directory.rstrip("/")), "cp": c["cp"],
            "seq": c["seq"], "heads": c["heads"], "kv_heads": c["kv_heads"],
            "head_dim": c["head_dim"], "dtype": c["dtype"], "layout": c["layout"],
            "causal": c["causal"], "batch": batch, "deterministic": deterministic,
            "bit_identical": identical,
            "dq_err": ours[0], "dk_err": ours[1], "dv_err": ours[2],
            "cudnn_dq_err": theirs[0], "cudnn_dk_err": theirs[1],
            "cudnn_dv_err": theirs[2], "pass": ok}
    print(("PASS" if ok else "FAIL") +
          " {dir} b={batch}: dq {dq_err:.3e} ({cudnn_dq_err:.3e}), dk {dk_err:.3e} "
          "({cudnn_dk_err:.3e}), dv {dv_err:.3e} ({cudnn_dv_err:.3e})".format(**case) +
          ("" if identical is None else f", bit-identical {identical}"), flush=True)
    return case


def main():
    common.run_checks(__doc__, check, "ringattn-gen output directories",
                      note="; errors in () are cuDNN's")


if __name__ == "__main__":
    main()
