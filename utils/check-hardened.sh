#!/usr/bin/env bash
# Builds ringattn once more with AddressSanitizer + UndefinedBehaviorSanitizer
# into ./build-sanitized and runs the whole test suite there. Any sanitizer
# report makes the test that triggered it fail (halt_on_error, a non-zero
# exit code), and so this script.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-sanitized/build.ninja ]; then
  cmake -G Ninja -S . -B build-sanitized \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRINGATTN_SANITIZE=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_DIR=/usr/lib/llvm-22/lib/cmake/llvm \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit > /dev/null
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0:exitcode=86}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
cmake --build build-sanitized --target check-ringattn
