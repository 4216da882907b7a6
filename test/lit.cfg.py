# -*- Python -*-
# lit configuration of the ringattn tests. GPU tests are a separate suite
# (REQUIRES: cuda, nccl, multi-gpu): on a machine without them they show as
# UNSUPPORTED, never silently absent.

import os
import shutil
import subprocess

import lit.formats
from lit.llvm import llvm_config

config.name = "RINGATTN"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.ringattn_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py",
                   "lit.site.cfg.py", "Inputs", "Unit"]
config.environment["FILECHECK_OPTS"] = "--enable-var-scope"

# The sanitized build (RINGATTN_SANITIZE, utils/check-hardened.sh): every
# report aborts the tool, so that it fails a RUN line that expects a failure
# too (`not`, expect_usage_error.py) rather than passing as an exit status;
# leaks are reports. Options set in the environment win.
if config.ringattn_sanitize:
    config.environment.setdefault(
        "ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1")
    config.environment.setdefault(
        "UBSAN_OPTIONS", "abort_on_error=1:halt_on_error=1:print_stacktrace=1")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

tool_dirs = [config.ringattn_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["ringattn-opt", "ringattn-gen", "ringattn-sim", "ringattn-runtime-tests",
     "FileCheck", "not", "count", "split-file"], tool_dirs)
config.substitutions.append(("%python", "python3"))
config.substitutions.append(("%cxx", config.cxx_compiler))
config.substitutions.append(("%cmake", config.cmake_command))
config.substitutions.append(("%ringattn_src", config.ringattn_src_root))
config.substitutions.append(("%inputs", os.path.join(config.test_source_root, "Inputs")))

# ptxas from the CUDA toolkit assembles generated PTX on any machine.
ptxas = os.path.join(config.cuda_root, "bin", "ptxas")
if os.path.exists(ptxas):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", ptxas))

# A Hopper GPU (compute capability 9.0) on this machine.
def _gpu_count():
    smi = shutil.which("nvidia-smi")
    if not smi:
        return 0
    try:
        out = subprocess.run([smi, "--query-gpu=compute_cap", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20).stdout
    except Exception:
        return 0
    return sum(1 for line in out.splitlines() if line.strip() == "9.0")

gpus = _gpu_count()
if gpus >= 1:
    config.available_features.add("cuda")
if gpus >= 2:
    config.available_features.add("multi-gpu")
