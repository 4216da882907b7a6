"""ringattn: ring attention for context-parallel training (Python side).

Without torch (plain Python):
  Layout            the chunk map of a package (shard / unshard lists, positions)
  RingPackage       a ringattn-gen output directory with its built module, loaded
  check_config ...  the argument checks (ringattn.checks)
  runtime           the ctypes binding of the runtime C API

With torch (imported on first use of these names):
  RingAttention     one rank of a ring: contexts per batch size, layout helpers
  ring_attention    the differentiable op (torch.library custom ops
                    ringattn::forward / ringattn::backward)
  shard, unshard, position_ids   the layout on tensors

See docs/pytorch.md.
"""

from .checks import check_config, check_world  # noqa: F401
from .layout import Layout  # noqa: F401
from .package import RingPackage  # noqa: F401

_OPS_NAMES = ("RingAttention", "ring_attention", "default_ring")
_TENSOR_NAMES = ("shard", "unshard", "position_ids")
_TORCH_NAMES = _OPS_NAMES + _TENSOR_NAMES


def __getattr__(name):
    if name in _TORCH_NAMES:
        try:
            if name in _OPS_NAMES:
                from . import ops as module
            else:
                from . import tensors as module
        except ImportError as error:
            raise ImportError(f"ringattn.{name} needs PyTorch ({error}); the torch-free "
                              "parts are Layout, RingPackage and ringattn.checks") from None
        return getattr(module, name)
    raise AttributeError(f"module 'ringattn' has no attribute {name!r}")


__all__ = ["Layout", "RingPackage", "check_config", "check_world", *_TORCH_NAMES]
