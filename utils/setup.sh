#!/usr/bin/env bash
# Installs what a fresh machine lacks (Debian packages), configures and builds
# ringattn into ./build. Safe to run again: it installs and configures only
# what is missing, and the build is incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

source utils/packages.sh
install_missing setup cmake ninja-build g++ python3 libgtest-dev \
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools nlohmann-json3-dev

if [ ! -f build/build.ninja ]; then
  cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_DIR=/usr/lib/llvm-22/lib/cmake/llvm \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit
fi
cmake --build build
