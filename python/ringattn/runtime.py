"""ctypes binding of the ringattn runtime C API (runtime/include/ringattn/runtime.h).

Loads libringattn_runtime.so and a ringattn-gen output directory (manifest.json
and kernels.cubin) and launches its kernels on caller tensors.
"""

import ctypes
import json
import os

_STATUS_NAMES = {
    0: "OK", 1: "INVALID_ARGUMENT", 2: "NO_DRIVER", 3: "UNSUPPORTED_DEVICE",
    4: "CUDA", 5: "NOT_FOUND", 6: "IO",
}
_DTYPES = {"bf16": 0, "fp16": 1}


class RingAttnError(RuntimeError):
    """A runtime call failed; the message is the runtime's own."""

    def __init__(self, status, message):
        super().__init__(f"{_STATUS_NAMES.get(status, status)}: {message}")
        self.status = status


_ROLES = {"forward": 0, "backward": 1, "backward_dq": 2, "preprocess": 3,
          "accumulate": 4, "finalize": 5}


class Kernel(ctypes.Structure):
    """ringattn_kernel: one generated kernel as the manifest describes it."""
    _fields_ = [
        ("name", ctypes.c_char_p), ("role", ctypes.c_int),
        ("grid_x", ctypes.c_int64), ("block", ctypes.c_int64),
        ("shared_bytes", ctypes.c_int64), ("q_len", ctypes.c_int64),
        ("kv_len", ctypes.c_int64), ("heads", ctypes.c_int64),
        ("kv_heads", ctypes.c_int64), ("head_dim", ctypes.c_int64),
        ("dtype", ctypes.c_int), ("q_rows", ctypes.c_int64),
        ("kv_rows", ctypes.c_int64), ("reads_accumulators", ctypes.c_int),
        ("writes_final", ctypes.c_int),
    ]


class BackwardArgs(ctypes.Structure):
    _fields_ = [
        ("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("dout", ctypes.c_void_p), ("lse", ctypes.c_void_p),
        ("delta", ctypes.c_void_p), ("dq_acc", ctypes.c_void_p),
        ("dk", ctypes.c_void_p), ("dv", ctypes.c_void_p),
        ("batch", ctypes.c_int64),
    ]


class ForwardArgs(ctypes.Structure):
    _fields_ = [
        ("q", ctypes.c_void_p), ("k", ctypes.c_void_p), ("v", ctypes.c_void_p),
        ("o_acc", ctypes.c_void_p), ("lse_acc", ctypes.c_void_p),
        ("out", ctypes.c_void_p), ("lse", ctypes.c_void_p),
        ("batch", ctypes.c_int64),
    ]


def load_library(path=None):
    """Opens libringattn_runtime.so (RINGATTN_RUNTIME_LIB, or `path`)."""
    path = path or os.environ.get("RINGATTN_RUNTIME_LIB", "libringattn_runtime.so")
    lib = ctypes.CDLL(path)
    lib.ringattn_last_error.restype = ctypes.c_char_p
    lib.ringattn_module_load.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                         ctypes.POINTER(ctypes.c_void_p)]
    lib.ringattn_module_unload.argtypes = [ctypes.c_void_p]
    kernel = ctypes.POINTER(Kernel)
    p = ctypes.c_void_p
    lib.ringattn_launch_forward.argtypes = [p, kernel, ctypes.POINTER(ForwardArgs), p]
    lib.ringattn_launch_backward.argtypes = [p, kernel, ctypes.POINTER(BackwardArgs), p]
    lib.ringattn_launch_preprocess.argtypes = [p, kernel, p, p, p, p, ctypes.c_int64, p]
    lib.ringattn_launch_accumulate.argtypes = [p, kernel, p, p, ctypes.c_int64, p]
    lib.ringattn_launch_finalize.argtypes = [p, kernel, p, p, p, p, p, p,
                                             ctypes.c_int64, p]
    return lib


class Generated:
    """A ringattn-gen output directory loaded on one device."""

    def __init__(self, directory, device=0, library=None):
        self.lib = library or load_library()
        with open(os.path.join(directory, "manifest.json")) as f:
            self.manifest = json.load(f)
        self.config = self.manifest["config"]
        handle = ctypes.c_void_p()
        cubin = os.path.join(directory, "kernels.cubin").encode()
        self._check(self.lib.ringattn_module_load(cubin, device, ctypes.byref(handle)))
        self.module = handle
        self.kernels = {}
        self.by_role = {}
        for k in self.manifest["kernels"]:
            desc = Kernel(
                name=k["name"].encode(), role=_ROLES[k["role"]],
                grid_x=k["grid"][0], block=k["block"][0],
                shared_bytes=k["shared_memory_bytes"], q_len=k["q_len"],
                kv_len=k["kv_len"], heads=self.config["heads"],
                kv_heads=self.config["kv_heads"],
                head_dim=self.config["head_dim"],
                dtype=_DTYPES[self.config["dtype"]], q_rows=k["q_rows"],
                kv_rows=k["kv_rows"],
                reads_accumulators=int(k["reads_accumulators"]),
                writes_final=int(k["writes_final"]))
            self.kernels[k["name"]] = (k, desc)
            self.by_role[k["role"]] = desc

    def _check(self, status):
        if status != 0:
            raise RingAttnError(status, self.lib.ringattn_last_error().decode())

    def forward_launches(self, rank):
        """[(step, kernel name, K/V source rank)] of `rank`'s forward, in order."""
        steps = self.manifest["forward"]["ranks"][rank]["steps"]
        return [(s["step"], s["kernel"], s["kv_shard_of_rank"])
                for s in steps if s["kernel"] is not None]

    def backward_launches(self, rank):
        """[(step, kernel, dq kernel or None, K/V source rank)] of `rank`."""
        steps = self.manifest["backward"]["ranks"][rank]["steps"]
        return [(s["step"], s["kernel"], s["dq_kernel"], s["kv_shard_of_rank"])
                for s in steps if s["kernel"] is not None]

    def launch_backward(self, name, q, k, v, dout, lse, delta, dq_acc, dk, dv,
                        stream=None):
        """Launches backward (or dQ) kernel `name`; dk/dv may be None for dQ."""
        _, desc = self.kernels[name]
        ptr = lambda t: None if t is None else t.data_ptr()
        args = BackwardArgs(q=ptr(q), k=ptr(k), v=ptr(v), dout=ptr(dout),
                            lse=ptr(lse), delta=ptr(delta), dq_acc=ptr(dq_acc),
                            dk=ptr(dk), dv=ptr(dv), batch=q.shape[0])
        self._check(self.lib.ringattn_launch_backward(
            self.module, ctypes.byref(desc), ctypes.byref(args), stream))

    def preprocess(self, out, dout, delta, dq_acc, stream=None):
        self._check(self.lib.ringattn_launch_preprocess(
            self.module, ctypes.byref(self.by_role["preprocess"]),
            out.data_ptr(), dout.data_ptr(), delta.data_ptr(), dq_acc.data_ptr(),
            out.shape[0], stream))

    def accumulate(self, dst, src, batch, stream=None):
        """dst += src over a dK/dV buffer [2, batch, S, Hkv, D] (fp32)."""
        self._check(self.lib.ringattn_launch_accumulate(
            self.module, ctypes.byref(self.by_role["accumulate"]),
            dst.data_ptr(), src.data_ptr(), batch, stream))

    def finalize(self, dq_acc, dk_acc, dv_acc, dq, dk, dv, stream=None):
        self._check(self.lib.ringattn_launch_finalize(
            self.module, ctypes.byref(self.by_role["finalize"]),
            dq_acc.data_ptr(), dk_acc.data_ptr(), dv_acc.data_ptr(),
            dq.data_ptr(), dk.data_ptr(), dv.data_ptr(), dq.shape[0], stream))

    def launch_forward(self, name, q, k, v, o_acc, lse_acc, out, lse, stream=None):
        """Launches forward kernel `name` on tensors ([B, S, H, D] etc.)."""
        _, desc = self.kernels[name]
        ptr = lambda t: None if t is None else t.data_ptr()
        args = ForwardArgs(q=ptr(q), k=ptr(k), v=ptr(v), o_acc=ptr(o_acc),
                           lse_acc=ptr(lse_acc), out=ptr(out), lse=ptr(lse),
                           batch=q.shape[0])
        self._check(self.lib.ringattn_launch_forward(
            self.module, ctypes.byref(desc), ctypes.byref(args), stream))

    def close(self):
        if self.module:
            self._check(self.lib.ringattn_module_unload(self.module))
            self.module = None
