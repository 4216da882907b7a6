"""The package layout on torch tensors: shard, unshard, position_ids.

Pure torch indexing (narrow + cat), for any dtype: token ids and labels
[B, S] as well as activations [B, S, ...]. `layout` is a ringattn.Layout or
anything with a .layout (RingPackage, RingAttention). The order matches the
runtime's helpers (ringattn_shard / ringattn_unshard / ringattn_position_ids).
"""

import torch
from torch import Tensor


def _layout_of(layout):
    return getattr(layout, "layout", layout)


def _check_dim(x, dim, want, what):
    if not isinstance(x, Tensor):
        raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} is out of range for {what} of shape {list(x.shape)}")
    if x.shape[dim] != want:
        raise ValueError(f"{what} has {x.shape[dim]} tokens along dim {dim} "
                         f"(shape {list(x.shape)}); expected {want}")


def shard(x, layout, rank, dim=1):
    """`rank`'s tokens of the global tensor x (seq tokens along `dim`), in the
    layout's local order: a new contiguous tensor (differentiable). For token
    ids and labels [B, S] as for activations [B, S, ...]."""
    layout = _layout_of(layout)
    _check_dim(x, dim, layout.seq, "x")
    parts = [x.narrow(dim, begin, end - begin) for begin, end in layout.ranges(rank)]
    return torch.cat(parts, dim=dim)


def unshard(parts, layout, dim=1):
    """The global tensor from every rank's local tensor (a list in rank order)."""
    layout = _layout_of(layout)
    parts = list(parts)
    if len(parts) != layout.cp:
        raise ValueError(f"unshard needs the local tensors of all cp={layout.cp} ranks, "
                         f"got {len(parts)}")
    for r, p in enumerate(parts):
        _check_dim(p, dim, layout.local_length, f"rank {r}'s tensor")
    return torch.cat([parts[r].narrow(dim, b, e - b) for r, b, e in layout.pieces()],
                     dim=dim)


def position_ids(layout, rank, device=None):
    """int64 [S_local]: the global position of each of `rank`'s tokens."""
    layout = _layout_of(layout)
    return torch.cat([torch.arange(b, e, dtype=torch.int64, device=device)
                      for b, e in layout.ranges(rank)])
