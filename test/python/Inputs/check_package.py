"""Loads generated packages with ringattn.RingPackage (the runtime library and
each package's built module, through runtime.py's ctypes binding; no GPU, no
torch) and checks the Python layout against the runtime's own helper
(ringattn_position_ids), the configuration checks on a real package, and the
errors for a missing or mismatched module.

usage: check_package.py PYTHON_DIR RUNTIME_LIB DIR [DIR ...]
"""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, sys.argv[1])
from checking import check, error_of, finish  # noqa: E402
import ringattn  # noqa: E402
from ringattn import RingPackage  # noqa: E402

library = sys.argv[2]
directories = sys.argv[3:]


packages = []
for directory in directories:
    p = RingPackage(directory, library=library)
    packages.append(p)
    print(f"{os.path.basename(directory)}: {p.description}; local_length {p.local_length}; "
          f"{p.torch_dtype_name}")
    for rank in range(p.cp):
        ours, theirs = p.layout.positions(rank), p.runtime_position_ids(rank)
        check(ours == theirs, f"{directory} rank {rank}: Python positions differ from "
              "ringattn_position_ids")
    print(f"  positions of all {p.cp} ranks match ringattn_position_ids")
    check(p.check_config(cp=p.cp, seq=p.seq, heads=p.heads, kv_heads=p.kv_heads,
                         head_dim=p.head_dim, dtype=p.dtype, causal=p.causal) is None,
          "matching config")
    print("  " + error_of(lambda: p.check_config(seq=2 * p.seq)))
    print("  " + error_of(lambda: p.check_world(p.cp + 1, 0)))
    print("  " + error_of(lambda: p.runtime_position_ids(p.cp)))

# Errors: no module built, a module of another configuration.
first, second = packages[0], packages[1]
with tempfile.TemporaryDirectory() as scratch:
    copy = os.path.join(scratch, "unbuilt")
    os.mkdir(copy)
    for name in ("manifest.json", "ringattn_package.cpp"):
        shutil.copy(os.path.join(first.directory, name), copy)
    print(error_of(lambda: RingPackage(copy, library=library)).replace(scratch, "TMP"))
    print(error_of(lambda: RingPackage(copy, module=second.module_path, library=library))
          .replace(scratch, "TMP").replace(os.path.dirname(second.module_path), "DIR"))
    # A package from a generator of another manifest version.
    old = os.path.join(scratch, "old")
    shutil.copytree(first.directory, old)
    with open(os.path.join(old, "manifest.json")) as f:
        text = f.read()
    with open(os.path.join(old, "manifest.json"), "w") as f:
        f.write(text.replace('"version": 3', '"version": 2', 1))
    print(error_of(lambda: RingPackage(old, library=library)).replace(scratch, "TMP"))
print(error_of(lambda: RingPackage(os.path.join(first.directory, "missing"),
                                   library=library)).replace(first.directory, "DIR"))

# Without torch, the torch parts say so when asked for.
try:
    import torch  # noqa: F401,F811
    print("torch is installed: not checking the ImportError")
except ImportError:
    print(error_of(lambda: ringattn.ring_attention))

finish()
