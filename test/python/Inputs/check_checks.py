"""Checks ringattn.checks (plain Python) on stand-in tensors: every wrong
argument is refused with TypeError or ValueError naming the argument, what it
is and what the package expects. Prints one line per case.

usage: check_checks.py PYTHON_DIR
"""

import sys

sys.path.insert(0, sys.argv[1])
import ringattn  # noqa: E402
from ringattn import checks  # noqa: E402


class Device:
    def __init__(self, type, index=None):
        self.type, self.index = type, index

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


class FakeTensor:
    """What the checks look at: shape, dtype, device, contiguity."""

    def __init__(self, shape, dtype="torch.bfloat16", device=Device("cuda", 0),
                 contiguous=True):
        self.shape, self.dtype, self.device = tuple(shape), dtype, device
        self._contiguous = contiguous

    def is_contiguous(self):
        return self._contiguous

    def stride(self):
        stride, out = 1, []
        for s in reversed(self.shape):
            out.append(stride)
            stride *= s
        out = tuple(reversed(out))
        return out if self._contiguous else tuple(reversed(out))


failures = 0


def case(name, fn, expect):
    """Prints `name: ErrorType: message`; counts a failure if the type is not `expect`."""
    global failures
    try:
        fn()
        got, text = None, "accepted"
    except Exception as error:
        got, text = type(error), f"{type(error).__name__}: {error}"
    print(f"{name}: {text}")
    if got is not expect:
        failures += 1
        print(f"FAIL {name}: expected {expect.__name__ if expect else 'acceptance'}")


# A package generated for cp=2, seq=4096, heads 8/2, head_dim 128, bf16: 2048
# tokens per rank; its context on cuda:1.
P = dict(heads=8, kv_heads=2, head_dim=128, local_length=2048, seq=4096,
         dtype="bfloat16", device_index=1)
dev1 = Device("cuda", 1)
q = FakeTensor((2, 2048, 8, 128), device=dev1)
k = FakeTensor((2, 2048, 2, 128), device=dev1)
v = FakeTensor((2, 2048, 2, 128), device=dev1)


def attention(q=q, k=k, v=v, **over):
    return checks.check_attention_inputs(q, k, v, **dict(P, **over))


case("good", lambda: attention(), None)
print(f"batch {attention()}")
case("fp16 package, torch.float16", lambda: attention(
    FakeTensor(q.shape, "torch.float16", dev1), FakeTensor(k.shape, "torch.float16", dev1),
    FakeTensor(v.shape, "torch.float16", dev1), dtype="float16"), None)
case("not a tensor", lambda: attention(q=[1, 2]), TypeError)
case("dtype", lambda: attention(q=FakeTensor(q.shape, "torch.float16", dev1)), TypeError)
case("dtype of v", lambda: attention(v=FakeTensor(v.shape, "torch.float32", dev1)), TypeError)
case("cpu", lambda: attention(q=FakeTensor(q.shape, device=Device("cpu"))), ValueError)
case("other GPU", lambda: attention(k=FakeTensor(k.shape, device=Device("cuda", 0))),
     ValueError)
case("rank 3", lambda: attention(q=FakeTensor((2, 2048, 1024), device=dev1)), ValueError)
case("full sequence", lambda: attention(q=FakeTensor((2, 4096, 8, 128), device=dev1)),
     ValueError)
case("tokens", lambda: attention(k=FakeTensor((2, 1000, 2, 128), device=dev1)), ValueError)
case("heads", lambda: attention(q=FakeTensor((2, 2048, 16, 128), device=dev1)), ValueError)
case("kv_heads", lambda: attention(v=FakeTensor((2, 2048, 8, 128), device=dev1)),
     ValueError)
case("head_dim", lambda: attention(q=FakeTensor((2, 2048, 8, 64), device=dev1)), ValueError)
case("batch", lambda: attention(k=FakeTensor((3, 2048, 2, 128), device=dev1)), ValueError)
case("no sequences", lambda: attention(q=FakeTensor((0, 2048, 8, 128), device=dev1),
                                       k=FakeTensor((0, 2048, 2, 128), device=dev1),
                                       v=FakeTensor((0, 2048, 2, 128), device=dev1)),
     ValueError)
case("non-contiguous", lambda: attention(q=FakeTensor(q.shape, device=dev1, contiguous=False)),
     ValueError)
case("non-contiguous, allowed", lambda: attention(
    q=FakeTensor(q.shape, device=dev1, contiguous=False), contiguous=False), None)
case("lse", lambda: checks.check_tensor(
    "lse", FakeTensor((2, 8, 2048), "torch.bfloat16", dev1),
    [("batch", 2), ("heads", 8), ("tokens", 2048)], "float32", 1), TypeError)

# Options the kernels fix.
opts = dict(package_causal=True, head_dim=128)
case("causal", lambda: checks.check_options(True, None, **opts), None)
case("not causal", lambda: checks.check_options(False, None, **opts), ValueError)
case("scale 1/sqrt(128)", lambda: checks.check_options(True, 128 ** -0.5, **opts), None)
case("scale 0.125", lambda: checks.check_options(True, 0.125, **opts), ValueError)
case("scale as a string", lambda: checks.check_options(True, "0.1", **opts), TypeError)

# The configuration a trainer states against the package's.
config = {"cp": 2, "seq": 4096, "heads": 8, "kv_heads": 2, "head_dim": 128, "dtype": "bf16",
          "layout": "zigzag", "causal": True,
          "description": "cp=2 seq=4096 heads=8/2 d=128 bf16 zigzag causal"}
case("matching config", lambda: ringattn.check_config(
    config, cp=2, seq=4096, heads=8, kv_heads=2, head_dim=128, dtype="torch.bfloat16",
    layout="zigzag", causal=True), None)
case("unstated fields", lambda: ringattn.check_config(config, seq=None, heads=8), None)
for field, value in (("seq", 8192), ("cp", 4), ("heads", 32), ("kv_heads", 4),
                     ("head_dim", 64), ("dtype", "fp16"), ("dtype", "torch.float16"),
                     ("layout", "contiguous"), ("causal", False)):
    case(f"config {field}={value}", lambda f=field, x=value: ringattn.check_config(
        config, **{f: x}), ValueError)
case("config seq='4096'", lambda: ringattn.check_config(config, seq="4096"), TypeError)
case("config unknown field", lambda: ringattn.check_config(config, hidden=1024), TypeError)

# The ring's size and rank.
case("world 2, rank 1", lambda: ringattn.check_world(2, 2, 1), None)
case("world 4 for cp=2", lambda: ringattn.check_world(2, 4, 1), ValueError)
case("world 2 for cp=1", lambda: ringattn.check_world(1, 2, 0), ValueError)
case("rank 2 of cp=2", lambda: ringattn.check_world(2, 2, 2), ValueError)
case("not a member", lambda: ringattn.check_world(2, 2, -1), ValueError)
case("rank 1.0", lambda: ringattn.check_world(2, 2, 1.0), TypeError)

print(f"{failures} failure(s)")
sys.exit(1 if failures else 0)
