"""A generated package as Python sees it, without torch.

RingPackage reads a ringattn-gen output directory (manifest.json), finds its
built package module (libringattn_package.so) and the runtime library
(libringattn_runtime.so), loads both with the ctypes binding
(runtime.Package, runtime.load_library) and checks that they describe the same
configuration. The PyTorch side (ringattn.ops.RingAttention) builds on it.
"""

import json
import os

from . import checks
from .layout import Layout

MODULE_NAME = "libringattn_package.so"
RUNTIME_NAME = "libringattn_runtime.so"

_LIBRARIES = {}


def find_module(directory):
    """The package module of `directory`: DIR/libringattn_package.so (as
    bench/ring.sh builds it) or DIR/build/lib/libringattn_package.so (the
    CMake package built in DIR/build)."""
    candidates = [os.path.join(directory, MODULE_NAME),
                  os.path.join(directory, "build", "lib", MODULE_NAME)]
    for path in candidates:
        if os.path.exists(path):
            return path
    if not os.path.exists(os.path.join(directory, "ringattn_package.cpp")):
        raise FileNotFoundError(
            f"{directory} has no package module and no ringattn_package.cpp to build one "
            "from (was it generated with --no-kernels?)")
    raise FileNotFoundError(
        f"no package module in {directory} (looked for {', '.join(candidates)}); "
        f"build it: g++ -O2 -shared -fPIC -I{directory} -I{directory}/runtime/include "
        f"{directory}/ringattn_package.cpp -o {candidates[0]}, or pass module=")


def find_runtime(directory=None, module=None):
    """The runtime library: $RINGATTN_RUNTIME_LIB, else one next to the package
    module, else the soname (the dynamic loader's search path)."""
    path = os.environ.get("RINGATTN_RUNTIME_LIB")
    if path:
        if not os.path.exists(path):
            raise FileNotFoundError(f"RINGATTN_RUNTIME_LIB={path} does not exist")
        return path
    for base in filter(None, [module and os.path.dirname(module),
                              directory and os.path.join(directory, "build", "lib")]):
        candidate = os.path.join(base, RUNTIME_NAME)
        if os.path.exists(candidate):
            return candidate
    return RUNTIME_NAME


def load_runtime(path):
    """runtime.load_library(path), once per path and process."""
    from .runtime import load_library
    key = os.path.realpath(path) if os.path.exists(path) else path
    if key not in _LIBRARIES:
        try:
            _LIBRARIES[key] = load_library(path)
        except OSError as error:
            raise OSError(f"cannot load the ringattn runtime {path!r}: {error} (build it: "
                          "cmake -G Ninja -S runtime -B /tmp/rt && ninja -C /tmp/rt, then "
                          f"RINGATTN_RUNTIME_LIB=/tmp/rt/lib/{RUNTIME_NAME})") from None
    return _LIBRARIES[key]


class RingPackage:
    """A ringattn-gen output directory with its built module, loaded.

    Attributes: directory, manifest, config (manifest "config"), layout
    (Layout), package (runtime.Package: the C package), cp, seq, heads,
    kv_heads, head_dim, dtype ("bf16"/"fp16"), causal, local_length.
    """

    def __init__(self, directory, *, module=None, library=None):
        from .runtime import Package, PackageInfo, read_manifest
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"package directory {directory!r} does not exist "
                                    "(ringattn-gen -o DIR writes one)")
        self.directory = directory
        manifest_path = os.path.join(directory, "manifest.json")
        if not os.path.exists(manifest_path):
            raise FileNotFoundError(f"{manifest_path} does not exist: is {directory} a "
                                    "ringattn-gen output directory?")
        self.manifest = read_manifest(manifest_path)
        self.config = self.manifest["config"]
        self.layout = Layout.from_manifest(self.manifest)
        self.module_path = module or find_module(directory)
        self.library_path = library or find_runtime(directory, self.module_path)
        lib = load_runtime(self.library_path)
        self.package = Package(self.module_path, library=lib)
        info = PackageInfo.from_address(self.package.handle.value)
        c = self.config
        built = {"cp": info.cp, "seq": info.seq, "heads": info.heads,
                 "kv_heads": info.kv_heads, "head_dim": info.head_dim,
                 "dtype": {0: "bf16", 1: "fp16"}.get(info.dtype, str(info.dtype)),
                 "causal": bool(info.causal)}
        for key, value in built.items():
            if (bool(c[key]) if key == "causal" else c[key]) != value:
                raise ValueError(
                    f"{self.module_path} was built for {key}={value} ("
                    f"{self.package.description}) but {manifest_path} says {key}={c[key]}: "
                    "rebuild the module from this directory's ringattn_package.cpp")
        if info.local_length != self.layout.local_length:
            raise ValueError(f"{self.module_path}: local_length {info.local_length}, "
                             f"manifest {self.layout.local_length}")
        self.cp, self.seq = int(c["cp"]), int(c["seq"])
        self.heads, self.kv_heads = int(c["heads"]), int(c["kv_heads"])
        self.head_dim, self.dtype = int(c["head_dim"]), c["dtype"]
        self.causal = bool(c["causal"])
        self.local_length = self.layout.local_length
        self.description = self.package.description

    @property
    def torch_dtype_name(self):
        """"bfloat16" or "float16"."""
        return checks.DTYPE_NAMES[self.dtype]

    def check_config(self, **expected):
        """Raises ValueError if a stated field (cp, seq, heads, kv_heads,
        head_dim, dtype, layout, causal) differs from the package's."""
        checks.check_config(self.config, **expected)

    def check_world(self, world_size, rank):
        checks.check_world(self.cp, world_size, rank)

    def runtime_position_ids(self, rank):
        """The runtime's own ringattn_position_ids (a list; no GPU needed)."""
        self.layout.check_rank(rank)
        return self.package.position_ids(rank)

    def __repr__(self):
        return f"RingPackage({self.directory!r}: {self.description})"

