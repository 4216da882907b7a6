#!/usr/bin/env bash
# A short 2-GPU run for iterating on the runtime: build it and three package
# modules, one ring check (with graph replay) and the ring benchmark at 16k
# and 32k (RINGATTN_NCCL_MAX_CTAS=$CTAS for a second pass if set).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}; mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
ring=.carry/ring
cmake -G Ninja -S runtime -B /tmp/rt > /dev/null && ninja -C /tmp/rt > /dev/null || exit 1
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
for p in z2_s4096_h32-4_d128 z2_s16384_h32-4_d128 z2_s32768_h32-4_d128; do
  g++ -O2 -shared -fPIC -I$ring/$p -Iruntime/include $ring/$p/ringattn_package.cpp -o $ring/$p/libringattn_package.so &
done; wait
run2() { timeout "$1" torchrun --standalone --nproc_per_node 2 "${@:2}"; }
run2 60 test/GPU/ring_check.py --graph $ring/z2_s4096_h32-4_d128:2 2>&1 | grep -E "^(PASS|FAIL)|passed"
run2 120 bench/ring_bench.py --ring $ring/z2_s{16384,32768}_h32-4_d128 --iters 10 --repeats 3 \
  --timeline $ring/z2_s32768_h32-4_d128 --json "$out/ring-bench-quick.json" 2>&1 | grep -E "^S=|Error"
if [ -n "${CTAS:-}" ]; then
  RINGATTN_NCCL_MAX_CTAS=$CTAS run2 90 bench/ring_bench.py --ring $ring/z2_s32768_h32-4_d128 \
    --json "$out/ring-bench-quick-ctas.json" 2>&1 | grep -E "^S=|Error" | sed "s/^/max CTAs $CTAS: /"
fi
