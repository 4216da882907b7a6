"""ring_attention for PyTorch: torch.library custom ops over the ringattn runtime.

    ring = RingAttention("out/")            # after torch.distributed.init_process_group
    out = ring_attention(q, k, v, ring)     # q [B, S_local, H, D], k/v [B, S_local, Hkv, D]
    out.sum().backward()

Two custom ops carry the work:

    ringattn::forward(Tensor q, Tensor k, Tensor v, SymInt handle) -> (Tensor out, Tensor lse)
    ringattn::backward(Tensor dout, Tensor q, Tensor k, Tensor v, Tensor out,
                       Tensor lse, SymInt handle) -> (Tensor dq, Tensor dk, Tensor dv)

with fake implementations (shapes and dtypes, and the same argument checks)
and autograd (register_autograd: the forward saves q, k, v, out and lse), so
they trace under torch.compile(fullgraph=True) and record into CUDA graphs.
Custom ops take tensors and numbers only: `handle` names a RingAttention in
this process's registry. A RingAttention holds one runtime context
(runtime.RingContext: NCCL communicator, ring buffers) per batch size,
created on first use: creating one is a collective (every rank of the ring
must run the same batch), exchanges the NCCL unique id through the
torch.distributed process group (broadcast_object_list from the ring's rank
0), and cannot happen inside a CUDA graph capture; call prepare(batch)
before capturing. The kernels run on torch.cuda.current_stream(); the
runtime needs calls on one context in one stream order, which eager autograd,
torch.compile and graph replays keep.
"""

import itertools
import threading
from typing import Tuple

import torch
from torch import Tensor

from . import checks
from .layout import Layout
from .package import RingPackage
from .runtime import RingContext
from .tensors import position_ids, shard, unshard

_RINGS = {}
_HANDLES = itertools.count(1)
_DEFAULT = None


def _ring_of(handle):
    ring = _RINGS.get(int(handle))
    if ring is None:
        raise RuntimeError(f"ringattn: no RingAttention with handle {int(handle)} in this "
                           "process (was it closed?)")
    return ring


def default_ring():
    """The RingAttention that ring_attention uses when none is given (the last
    one created with make_default=True)."""
    if _DEFAULT is None:
        raise RuntimeError("ringattn: no RingAttention yet: create one "
                           "(ringattn.RingAttention(PACKAGE_DIR)) or pass ring=")
    return _DEFAULT


class RingAttention(RingPackage):
    """One rank of a ring for one generated package, on one CUDA device.

    directory: the ringattn-gen output directory (its package module built
    into it; module= names another). group: the torch.distributed process
    group of the ring (default: the whole world); its size must be the
    package's cp and this process's rank in it is the ring rank. rank and
    world_size override the group's (cp = 1 in a larger job: rank=0,
    world_size=1). device: the CUDA device (default: the current one).
    timeout_ms: how long the runtime waits for a peer before it aborts the
    ring (creation and every call's watchdog). expect: a dict of the model's
    configuration (seq, heads, kv_heads, head_dim, dtype, cp, layout, causal)
    checked against the package now.
    """

    def __init__(self, directory, *, group=None, rank=None, world_size=None,
                 device=None, module=None, library=None, timeout_ms=120000,
                 expect=None, make_default=True):
        super().__init__(directory, module=module, library=library)
        if expect:
            self.check_config(**expect)
        dist = torch.distributed
        initialized = dist.is_available() and dist.is_initialized()
        if group is not None and not initialized:
            raise ValueError("group= was given but torch.distributed is not initialized")
        if initialized:
            group_size, group_rank = dist.get_world_size(group), dist.get_rank(group)
            world_size = group_size if world_size is None else world_size
            rank = group_rank if rank is None else rank
        else:
            world_size = 1 if world_size is None else world_size
            rank = 0 if rank is None else rank
        self.check_world(world_size, rank)
        if initialized and self.cp > 1 and (group_size != self.cp or group_rank != rank):
            raise ValueError(
                f"the ring's process group has {group_size} ranks and this process is its "
                f"rank {group_rank}, but the ring wants cp={self.cp} ranks with this one "
                f"as rank {rank}: pass group=, a group of the ring's {self.cp} processes "
                "(the NCCL id is exchanged in it)")
        self.group, self.rank, self.world_size = group, rank, world_size
        if device is None:
            device = torch.cuda.current_device()
        elif not isinstance(device, int):
            d = torch.device(device)
            if d.type != "cuda":
                raise ValueError(f"device={device}: ringattn runs on CUDA devices")
            device = d.index if d.index is not None else torch.cuda.current_device()
        self.device = int(device)
        self.timeout_ms = int(timeout_ms)
        self._contexts = {}
        self._lock = threading.RLock()
        self.handle = next(_HANDLES)
        _RINGS[self.handle] = self
        if make_default:
            global _DEFAULT
            _DEFAULT = self

    # -- contexts ------------------------------------------------------------

    @property
    def batches(self):
        """The batch sizes that have a context."""
        return sorted(self._contexts)

    def prepare(self, batch):
        """Creates the context for `batch` sequences now (a collective: every
        rank of the ring calls it with the same batch). Needed before a CUDA
        graph capture; otherwise the first call of that batch does it."""
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 65535:
            raise ValueError(f"batch must be an int in [1, 65535], got {batch!r}")
        return self._context(batch)

    def _context(self, batch):
        ctx = self._contexts.get(batch)
        if ctx is not None:
            return ctx
        with self._lock:
            ctx = self._contexts.get(batch)
            if ctx is None:
                with torch.cuda.device(self.device):
                    if torch.cuda.is_current_stream_capturing():
                        raise RuntimeError(
                            f"ringattn: rank {self.rank} has no context for batch {batch} "
                            "yet and cannot create one (NCCL setup) inside a CUDA graph "
                            f"capture: call ring.prepare({batch}) or run one eager step "
                            "before capturing")
                    uid = self._unique_id()
                    ctx = RingContext(self.package, self.rank, self.device, batch, uid,
                                      timeout_ms=self.timeout_ms)
                self._contexts[batch] = ctx
        return ctx

    def _unique_id(self):
        if self.cp == 1:
            return None
        dist = torch.distributed
        if not (dist.is_available() and dist.is_initialized()):
            raise RuntimeError(
                f"ringattn: cp={self.cp} exchanges the ring's NCCL unique id through "
                "torch.distributed: call torch.distributed.init_process_group first")
        box = [self.package.unique_id() if self.rank == 0 else None]
        src = 0 if self.group is None else dist.get_global_rank(self.group, 0)
        dist.broadcast_object_list(box, src=src, group=self.group)
        uid = box[0]
        if not isinstance(uid, bytes) or len(uid) != 128:
            raise RuntimeError(f"ringattn: rank {self.rank} received no NCCL unique id "
                               f"from the ring's rank 0 (got {type(uid).__name__})")
        return uid

    def close(self):
        """Waits for the ring's work, destroys every context and leaves the
        registry. Every rank should close (NCCL communicators)."""
        first_error = None
        with self._lock:
            if self._contexts:
                torch.cuda.synchronize(self.device)
            for batch in list(self._contexts):
                ctx = self._contexts.pop(batch)
                for step in (ctx.wait, ctx.close):  # close them all; report the first error
                    try:
                        step()
                    except Exception as error:
                        first_error = first_error or error
        _RINGS.pop(self.handle, None)
        global _DEFAULT
        if _DEFAULT is self:
            _DEFAULT = None
        if first_error is not None:
            raise first_error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- checks --------------------------------------------------------------

    def check_inputs(self, q, k, v, causal=True, softmax_scale=None, contiguous=True):
        """The checks ring_attention runs (eagerly): see ringattn.checks."""
        for name, t in (("q", q), ("k", k), ("v", v)):
            if not isinstance(t, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        checks.check_options(causal, softmax_scale, package_causal=self.causal,
                             head_dim=self.head_dim)
        return checks.check_attention_inputs(
            q, k, v, heads=self.heads, kv_heads=self.kv_heads, head_dim=self.head_dim,
            local_length=self.local_length, seq=self.seq, dtype=self.torch_dtype_name,
            device_index=self.device, contiguous=contiguous)

    def _check_backward(self, dout, q, k, v, out, lse):
        batch = self.check_inputs(q, k, v, contiguous=False)
        dims = [("batch", batch), ("tokens", self.local_length), ("heads", self.heads),
                ("head_dim", self.head_dim)]
        for name, t in (("dout", dout), ("out", out)):
            checks.check_tensor(name, t, dims, self.torch_dtype_name, self.device,
                                contiguous=False)
        checks.check_tensor("lse", lse, [("batch", batch), ("heads", self.heads),
                                         ("tokens", self.local_length)],
                            "float32", self.device, contiguous=False)
        return batch

    # -- launches (the ops' CUDA implementations) ---------------------------

    def _run_forward(self, q, k, v):
        b, s, h, _ = q.shape
        ctx = self._context(b)
        out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
        lse = torch.empty((b, h, s), dtype=torch.float32, device=q.device)
        ctx.forward(q, k, v, out, lse, torch.cuda.current_stream(q.device).cuda_stream)
        return out, lse

    def _run_backward(self, dout, q, k, v, out, lse):
        ctx = self._context(q.shape[0])
        dq = torch.empty(q.shape, dtype=q.dtype, device=q.device)
        dk = torch.empty(k.shape, dtype=k.dtype, device=k.device)
        dv = torch.empty(v.shape, dtype=v.dtype, device=v.device)
        ctx.backward(dout, q, k, v, out, lse, dq, dk, dv,
                     torch.cuda.current_stream(q.device).cuda_stream)
        return dq, dk, dv

    # -- the layout, on tensors ---------------------------------------------

    def shard(self, x, dim=1):
        """This rank's tokens of a global [.., seq, ..] tensor (dim `dim`)."""
        return shard(x, self.layout, self.rank, dim)

    def unshard(self, parts, dim=1):
        """The global tensor from every rank's local tensor (in rank order)."""
        return unshard(parts, self.layout, dim)

    def gather(self, local, dim=1):
        """All ranks' local tensors (all_gather in the ring's group), unsharded:
        every rank gets the global tensor. A collective."""
        dist = torch.distributed
        if self.world_size == 1:
            return unshard([local], self.layout, dim)
        local = local.contiguous()
        parts = [torch.empty_like(local) for _ in range(self.world_size)]
        dist.all_gather(parts, local, group=self.group)
        return unshard(parts, self.layout, dim)

    def position_ids(self, device=None):
        """The global positions (RoPE indices) of this rank's tokens: int64 [S_local]."""
        return position_ids(self.layout, self.rank, device)

    def __call__(self, q, k, v, *, causal=True, softmax_scale=None, return_lse=False):
        return ring_attention(q, k, v, self, causal=causal, softmax_scale=softmax_scale,
                              return_lse=return_lse)

    def __repr__(self):
        return (f"RingAttention({self.directory!r}: {self.description}; rank {self.rank} "
                f"of {self.world_size} on cuda:{self.device}, batches {self.batches})")


# -- the custom ops -----------------------------------------------------------

@torch.library.custom_op("ringattn::forward", mutates_args=())
def _forward_op(q: Tensor, k: Tensor, v: Tensor, handle: int) -> Tuple[Tensor, Tensor]:
    ring = _ring_of(handle)
    ring.check_inputs(q, k, v, contiguous=False)
    return ring._run_forward(q.contiguous(), k.contiguous(), v.contiguous())


@_forward_op.register_fake
def _forward_fake(q, k, v, handle):
    ring = _ring_of(handle)
    ring.check_inputs(q, k, v, contiguous=False)
    b, s, h, _ = q.shape
    return q.new_empty(q.shape), q.new_empty((b, h, s), dtype=torch.float32)


@torch.library.custom_op("ringattn::backward", mutates_args=())
def _backward_op(dout: Tensor, q: Tensor, k: Tensor, v: Tensor, out: Tensor,
                 lse: Tensor, handle: int) -> Tuple[Tensor, Tensor, Tensor]:
    ring = _ring_of(handle)
    ring._check_backward(dout, q, k, v, out, lse)
    return ring._run_backward(*(t.contiguous() for t in (dout, q, k, v, out, lse)))


@_backward_op.register_fake
def _backward_fake(dout, q, k, v, out, lse, handle):
    _ring_of(handle)._check_backward(dout, q, k, v, out, lse)
    return q.new_empty(q.shape), k.new_empty(k.shape), v.new_empty(v.shape)


def _setup_context(ctx, inputs, output):
    q, k, v, handle = inputs
    out, lse = output
    ctx.save_for_backward(q, k, v, out, lse)
    ctx.handle = handle


def _backward(ctx, grad_out, grad_lse):
    # lse is not differentiable (ring_attention hands it out detached): its
    # gradient, if any, is ignored.
    q, k, v, out, lse = ctx.saved_tensors
    if grad_out is None:
        grad_out = torch.zeros_like(out)
    dq, dk, dv = torch.ops.ringattn.backward(grad_out.contiguous(), q, k, v, out, lse,
                                             ctx.handle)
    return dq, dk, dv, None


_forward_op.register_autograd(_backward, setup_context=_setup_context)


def ring_attention(q, k, v, ring=None, *, causal=True, softmax_scale=None,
                   return_lse=False):
    """Causal attention of this rank's shard against the whole ring's sequence.

    q [B, S_local, H, D], k and v [B, S_local, Hkv, D]: contiguous CUDA
    tensors in the package's dtype, this rank's tokens in the package's
    layout (zigzag: chunk r, then chunk 2 cp - 1 - r; see shard()). Returns
    out [B, S_local, H, D] (and, with return_lse, the fp32 log-sum-exp
    [B, H, S_local], detached). Differentiable in q, k, v. `causal` and
    `softmax_scale` must be what the package was generated for (causal,
    1/sqrt(D)). Every rank of the ring must call it in the same order with the
    same batch size.
    """
    ring = default_ring() if ring is None else ring
    checks.check_options(causal, softmax_scale, package_causal=ring.causal,
                         head_dim=ring.head_dim)
    if not torch.compiler.is_compiling():
        # Under torch.compile the fake implementation runs the same checks
        # (less contiguity: the op makes its inputs contiguous).
        ring.check_inputs(q, k, v)
    out, lse = torch.ops.ringattn.forward(q, k, v, ring.handle)
    return (out, lse.detach()) if return_lse else out


__all__ = ["RingAttention", "ring_attention", "default_ring", "shard", "unshard",
           "position_ids", "Layout"]
