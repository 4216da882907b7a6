"""ctypes binding of the ringattn runtime C API (runtime/include/ringattn/runtime.h).

Loads libringattn_runtime.so and a ringattn-gen output directory (manifest.json
and kernels.cubin) and launches its kernels on caller tensors.
"""

import ctypes
import json
import os

_STATUS_NAMES = {
    0: "OK", 1: "INVALID_ARGUMENT", 2: "NO_DRIVER", 3: "UNSUPPORTED_DEVICE",
    4: "CUDA", 5: "NOT_FOUND", 6: "IO", 7: "NCCL", 8: "CONFIG_MISMATCH",
    9: "TIMEOUT", 10: "CONTEXT_FAILED",
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
    lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
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
    i64, c_int = ctypes.c_int64, ctypes.c_int
    lib.ringattn_get_unique_id.argtypes = [p]
    lib.ringattn_context_create.argtypes = [p, c_int, c_int, i64, p, i64,
                                            ctypes.POINTER(ctypes.c_void_p)]
    lib.ringattn_context_destroy.argtypes = [p]
    lib.ringattn_forward.argtypes = [p, p, p, p, p, p, p]
    lib.ringattn_backward.argtypes = [p] * 11
    lib.ringattn_context_wait.argtypes = [p, i64]
    lib.ringattn_context_status.argtypes = [p]
    lib.ringattn_context_set_timeline.argtypes = [p, c_int]
    lib.ringattn_context_set_transfers.argtypes = [p, c_int]
    lib.ringattn_context_timeline.argtypes = [p, p, c_int,
                                              ctypes.POINTER(ctypes.c_int)]
    lib.ringattn_shard.argtypes = [p, c_int, p, p, i64, i64, p]
    lib.ringattn_unshard.argtypes = [p, c_int, p, p, i64, i64, p]
    lib.ringattn_position_ids.argtypes = [p, c_int, p, i64]
    return lib


# The manifest format this binding reads (lib/Gen/Manifest.cpp's "version").
# Version 2: the main backward kernels take dq_acc's tensor map. Version 3: a
# main backward kernel with reads_accumulators adds into dk and dv (the
# runtime's launch zeroes them).
MANIFEST_VERSION = 3


def read_manifest(path):
    """The parsed manifest.json at `path`; ValueError for another format."""
    with open(path) as f:
        manifest = json.load(f)
    if manifest.get("format") != "ringattn-manifest":
        raise ValueError(f"{path} is not a ringattn manifest")
    if manifest.get("version") != MANIFEST_VERSION:
        raise ValueError(f"{path} has manifest version {manifest.get('version')}, this "
                         f"runtime reads version {MANIFEST_VERSION}: regenerate the package "
                         "with this ringattn-gen")
    return manifest


class Generated:
    """A ringattn-gen output directory loaded on one device."""

    def __init__(self, directory, device=0, library=None):
        self.lib = library or load_library()
        self.manifest = read_manifest(os.path.join(directory, "manifest.json"))
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
                grid_x=k["work_items"], block=k["block"][0],
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


class PackageInfo(ctypes.Structure):
    """The leading fields of ringattn_package (ringattn/package.h)."""
    _fields_ = [
        ("abi", ctypes.c_int), ("description", ctypes.c_char_p),
        ("config_hash", ctypes.c_uint64), ("cp", ctypes.c_int64),
        ("seq", ctypes.c_int64), ("heads", ctypes.c_int64),
        ("kv_heads", ctypes.c_int64), ("head_dim", ctypes.c_int64),
        ("dtype", ctypes.c_int), ("causal", ctypes.c_int),
        ("chunk_length", ctypes.c_int64), ("local_length", ctypes.c_int64),
    ]


class TimelineEntry(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_int), ("step", ctypes.c_int),
                ("start_ms", ctypes.c_float), ("end_ms", ctypes.c_float)]


class Package:
    """A built generated package: libringattn_package.so (the CMake package's
    module target) of a ringattn-gen output directory."""

    def __init__(self, module_path, library=None):
        self.lib = library or load_library()
        self._module = ctypes.CDLL(module_path)
        self._module.ringattn_generated_package.restype = ctypes.c_void_p
        self.handle = ctypes.c_void_p(self._module.ringattn_generated_package())
        info = PackageInfo.from_address(self.handle.value)
        self.description = info.description.decode()
        self.cp, self.seq = info.cp, info.seq
        self.heads, self.kv_heads, self.head_dim = info.heads, info.kv_heads, info.head_dim
        self.local_length = info.local_length
        self.config_hash = info.config_hash

    def _check(self, status):
        if status != 0:
            raise RingAttnError(status, self.lib.ringattn_last_error().decode())

    def unique_id(self):
        """A new NCCL unique id (128 bytes) for a ring of this package."""
        buf = ctypes.create_string_buffer(128)
        self._check(self.lib.ringattn_get_unique_id(buf))
        return buf.raw

    def position_ids(self, rank):
        ids = (ctypes.c_int64 * self.local_length)()
        self._check(self.lib.ringattn_position_ids(self.handle, rank, ids,
                                                   self.local_length))
        return list(ids)

    def shard(self, rank, full, local, stream):
        """full [B, seq, ...] -> local [B, local_length, ...] (async copies)."""
        row = full[0, 0].numel() * full.element_size()
        self._check(self.lib.ringattn_shard(self.handle, rank, full.data_ptr(),
                                            local.data_ptr(), full.shape[0],
                                            row, stream))

    def unshard(self, rank, local, full, stream):
        row = local[0, 0].numel() * local.element_size()
        self._check(self.lib.ringattn_unshard(self.handle, rank, local.data_ptr(),
                                              full.data_ptr(), local.shape[0],
                                              row, stream))


class RingContext:
    """One rank of a ring (ringattn_context) on torch tensors."""

    def __init__(self, package, rank, device, batch, unique_id=None,
                 timeout_ms=0):
        self.package, self.lib = package, package.lib
        self.rank, self.batch = rank, batch
        uid = None if unique_id is None else ctypes.create_string_buffer(unique_id, 128)
        handle = ctypes.c_void_p()
        package._check(self.lib.ringattn_context_create(
            package.handle, rank, device, batch, uid, timeout_ms,
            ctypes.byref(handle)))
        self.handle = handle

    def _check_shapes(self, **tensors):
        p = self.package
        for name, t in tensors.items():
            heads = p.kv_heads if name in ("k", "v", "dk", "dv") else p.heads
            if name == "lse":
                want = (self.batch, p.heads, p.local_length)
            else:
                want = (self.batch, p.local_length, heads, p.head_dim)
            if tuple(t.shape) != want or not t.is_contiguous():
                raise RingAttnError(1, f"{name} has shape {tuple(t.shape)}; "
                                    f"rank {self.rank} needs a contiguous {want}")

    def forward(self, q, k, v, out, lse, stream):
        self._check_shapes(q=q, k=k, v=v, out=out, lse=lse)
        self.package._check(self.lib.ringattn_forward(
            self.handle, q.data_ptr(), k.data_ptr(), v.data_ptr(),
            out.data_ptr(), lse.data_ptr(), stream))

    def backward(self, dout, q, k, v, out, lse, dq, dk, dv, stream):
        self._check_shapes(dout=dout, q=q, k=k, v=v, out=out, lse=lse, dq=dq,
                           dk=dk, dv=dv)
        self.package._check(self.lib.ringattn_backward(
            self.handle, dout.data_ptr(), q.data_ptr(), k.data_ptr(),
            v.data_ptr(), out.data_ptr(), lse.data_ptr(), dq.data_ptr(),
            dk.data_ptr(), dv.data_ptr(), stream))

    def wait(self, timeout_ms=0):
        self.package._check(self.lib.ringattn_context_wait(self.handle, timeout_ms))

    def set_timeline(self, enabled):
        self.package._check(self.lib.ringattn_context_set_timeline(self.handle, int(enabled)))

    def set_transfers(self, enabled):
        self.package._check(self.lib.ringattn_context_set_transfers(self.handle, int(enabled)))

    def timeline(self, capacity=4096):
        entries = (TimelineEntry * capacity)()
        count = ctypes.c_int()
        self.package._check(self.lib.ringattn_context_timeline(
            self.handle, entries, capacity, ctypes.byref(count)))
        return [(e.kind, e.step, e.start_ms, e.end_ms) for e in entries[:count.value]]

    def close(self):
        if self.handle:
            self.package._check(self.lib.ringattn_context_destroy(self.handle))
            self.handle = None
