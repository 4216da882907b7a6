"""Argument checks of the PyTorch binding, in plain Python (no torch).

Every check raises TypeError (a wrong type or dtype) or ValueError (a wrong
shape, device, layout or configuration) with a message that names the
argument, what it is and what the generated package expects. Tensors are
looked at through their attributes only (shape, dtype, device, stride,
is_contiguous), so the checks run on real tensors, on torch.compile's fake
tensors and, in the CPU tests, on stand-ins without torch.
"""

# The package's dtype names (manifest "dtype", ringattn-gen --dtype) and
# torch's names for them.
DTYPE_NAMES = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}
TORCH_DTYPE_NAMES = {v: k for k, v in DTYPE_NAMES.items()}

# Configuration fields a trainer may state and the ringattn-gen flag of each.
CONFIG_FLAGS = {
    "cp": "--cp", "seq": "--seq", "heads": "--heads", "kv_heads": "--kv-heads",
    "head_dim": "--head-dim", "dtype": "--dtype", "layout": "--layout",
    "causal": "--causal / --no-causal",
}


def dtype_name(dtype):
    """torch.bfloat16, "torch.bfloat16", "bfloat16" or "bf16" -> "bfloat16"."""
    name = str(dtype)
    if name.startswith("torch."):
        name = name[len("torch."):]
    return DTYPE_NAMES.get(name, name)


def _describe(config):
    return config.get("description") or ", ".join(
        f"{k}={config[k]}" for k in CONFIG_FLAGS if k in config)


def check_config(config, **expected):
    """Compares a trainer's configuration with the package's (manifest.json
    "config"); None means "not stated". ValueError names the first field that
    differs and the flag that would generate a matching package."""
    for key, want in expected.items():
        if key not in CONFIG_FLAGS:
            raise TypeError(f"check_config: unknown field {key!r} "
                            f"(known: {', '.join(CONFIG_FLAGS)})")
        if want is None:
            continue
        have = config[key]
        if key == "dtype":
            same = dtype_name(want) == dtype_name(have)
            shown = TORCH_DTYPE_NAMES.get(dtype_name(want), str(want))
        elif key == "causal":
            same, shown = bool(want) == bool(have), bool(want)
        elif key == "layout":
            same, shown = str(want) == str(have), want
        else:
            if isinstance(want, bool) or not isinstance(want, int):
                raise TypeError(f"{key} must be an int, got {type(want).__name__} {want!r}")
            same, shown = want == have, want
        if not same:
            flag = CONFIG_FLAGS[key]
            if key == "causal":
                flag = "--causal" if want else "--no-causal"
            else:
                flag = f"{flag} {shown}"
            raise ValueError(
                f"{key}: the model uses {shown} but the package was generated for "
                f"{key}={have} ({_describe(config)}); generate a package for it "
                f"(ringattn-gen ... {flag})")


def check_world(cp, world_size, rank):
    """The ring's size and this process's rank in it."""
    for name, value in (("world_size", world_size), ("rank", rank)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if world_size != cp:
        how = ("a cp=1 package runs in each process alone: pass rank=0, world_size=1"
               if cp == 1 else f"run {cp} processes per ring (or pass group=, a process "
               f"group of {cp} ranks)")
        raise ValueError(f"world size {world_size} does not match the package: it was "
                         f"generated for cp={cp}; {how}")
    if rank < 0:
        raise ValueError(f"rank {rank}: this process is not a member of the ring's "
                         "process group")
    if rank >= cp:
        raise ValueError(f"rank {rank} is out of range: the package was generated "
                         f"for cp={cp} (ranks 0..{cp - 1})")


def _shape(t):
    return tuple(int(s) for s in t.shape)


def check_tensor(name, t, dims, dtype, device_index=None, hints=None,
                 contiguous=True):
    """One tensor: `dims` is [(dimension name, expected size or None)],
    `dtype` a dtype name ("bfloat16", "float32"), `device_index` the CUDA
    device of the ring's context (None: any CUDA device). `hints` maps
    (dimension, wrong size) to an explanation. With `contiguous`, a
    non-contiguous tensor is refused too."""
    if not (hasattr(t, "shape") and hasattr(t, "dtype") and hasattr(t, "device")):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    device = t.device
    if getattr(device, "type", None) != "cuda":
        raise ValueError(f"{name} is on {device}; ringattn runs on CUDA tensors"
                         + ("" if device_index is None else f" (cuda:{device_index})"))
    if device_index is not None and device.index is not None and \
            int(device.index) != int(device_index):
        raise ValueError(f"{name} is on cuda:{device.index}, but this ring's context is "
                         f"on cuda:{device_index} (the device it was created for)")
    if dtype_name(t.dtype) != dtype:
        raise TypeError(f"{name} has dtype {t.dtype}; expected torch.{dtype}"
                        + (f" (the package was generated for --dtype "
                           f"{TORCH_DTYPE_NAMES[dtype]})" if dtype in TORCH_DTYPE_NAMES
                           and dtype != "float32" else ""))
    shape = _shape(t)
    layout = "[" + ", ".join(n for n, _ in dims) + "]"
    want = "[" + ", ".join(n if s is None else str(s) for n, s in dims) + "]"
    if len(shape) != len(dims):
        raise ValueError(f"{name} has shape {list(shape)}; expected {layout} = {want}")
    for i, ((dim, size), got) in enumerate(zip(dims, shape)):
        if size is not None and got != size:
            hint = (hints or {}).get((i, got), "")
            raise ValueError(f"{name} has {got} {dim} (shape {list(shape)}, dimension {i}); "
                             f"expected {layout} = {want}{hint}")
    if contiguous and not t.is_contiguous():
        stride = tuple(t.stride()) if hasattr(t, "stride") else "?"
        raise ValueError(f"{name} is not contiguous (shape {list(shape)}, strides {stride}); "
                         f"ringattn needs contiguous {layout} tensors: call .contiguous()")


def check_attention_inputs(q, k, v, *, heads, kv_heads, head_dim, local_length,
                           seq, dtype, device_index=None, names=("q", "k", "v"),
                           contiguous=True):
    """q [B, local_length, heads, head_dim], k and v [B, local_length,
    kv_heads, head_dim]: the rank's shard, contiguous, in the package's dtype,
    on the ring's device; one batch size B (1..65535) for all three."""
    hints = {(1, seq): f" (that is the whole sequence: pass this rank's shard of "
                       f"{local_length} tokens, e.g. ring.shard(x))"} if seq != local_length else {}
    qn, kn, vn = names
    check_tensor(qn, q, [("batch", None), ("tokens", local_length), ("heads", heads),
                         ("head_dim", head_dim)], dtype, device_index, hints,
                 contiguous)
    for name, t in ((kn, k), (vn, v)):
        check_tensor(name, t, [("batch", None), ("tokens", local_length),
                               ("kv_heads", kv_heads), ("head_dim", head_dim)],
                     dtype, device_index, hints, contiguous)
    batch = _shape(q)[0]
    for name, t in ((kn, k), (vn, v)):
        if _shape(t)[0] != batch:
            raise ValueError(f"{name} has batch {_shape(t)[0]} but {qn} has batch {batch}")
    if not 1 <= batch <= 65535:
        raise ValueError(f"{qn} has batch {batch}; the runtime takes 1..65535 sequences")
    return batch


def check_options(causal, softmax_scale, *, package_causal, head_dim):
    """What the generated kernels fix: the mask and the softmax scale."""
    if bool(causal) != bool(package_causal):
        raise ValueError(f"causal={bool(causal)}, but the package was generated "
                         f"{'with' if package_causal else 'without'} the causal mask "
                         f"(ringattn-gen {'--causal' if causal else '--no-causal'} makes "
                         "one for that)")
    if softmax_scale is not None:
        default = head_dim ** -0.5
        if not isinstance(softmax_scale, (int, float)) or isinstance(softmax_scale, bool):
            raise TypeError(f"softmax_scale must be a float or None, got "
                            f"{type(softmax_scale).__name__}")
        if abs(softmax_scale - default) > 1e-6 * default:
            raise ValueError(f"softmax_scale={softmax_scale}: the generated kernels use "
                             f"1/sqrt(head_dim) = {default:.6g} (head_dim {head_dim}); pass "
                             "None, or scale q by softmax_scale * sqrt(head_dim) yourself")
