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


class ForwardKernel(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p), ("grid_x", ctypes.c_int64),
        ("block", ctypes.c_int64), ("shared_bytes", ctypes.c_int64),
        ("q_len", ctypes.c_int64), ("kv_len", ctypes.c_int64),
        ("heads", ctypes.c_int64), ("kv_heads", ctypes.c_int64),
        ("head_dim", ctypes.c_int64), ("dtype", ctypes.c_int),
        ("block_m", ctypes.c_int64), ("block_n", ctypes.c_int64),
        ("reads_accumulators", ctypes.c_int), ("writes_final", ctypes.c_int),
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
    lib.ringattn_launch_forward.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(ForwardKernel),
        ctypes.POINTER(ForwardArgs), ctypes.c_void_p]
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
        for k in self.manifest["kernels"]:
            if k["direction"] != "forward":
                continue
            desc = ForwardKernel(
                name=k["name"].encode(), grid_x=k["grid"][0], block=k["block"][0],
                shared_bytes=k["shared_memory_bytes"], q_len=k["q_len"],
                kv_len=k["kv_len"],
                heads=self.config["heads"], kv_heads=self.config["kv_heads"],
                head_dim=self.config["head_dim"], dtype=_DTYPES[self.config["dtype"]],
                block_m=k["block_m"], block_n=k["block_n"],
                reads_accumulators=int(k["reads_accumulators"]),
                writes_final=int(k["writes_final"]))
            self.kernels[k["name"]] = (k, desc)

    def _check(self, status):
        if status != 0:
            raise RingAttnError(status, self.lib.ringattn_last_error().decode())

    def forward_launches(self, rank):
        """[(step, kernel name, K/V source rank)] of `rank`'s forward, in order."""
        steps = self.manifest["forward"]["ranks"][rank]["steps"]
        return [(s["step"], s["kernel"], s["kv_shard_of_rank"])
                for s in steps if s["kernel"] is not None]

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
