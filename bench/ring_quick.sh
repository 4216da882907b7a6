#!/usr/bin/env bash
# A short 2-GPU run for iterating on the runtime: build it and the package
# modules, one ring check (with graph replay) and the ring benchmark at 16k
# and 32k with single-GPU baselines. Packages come from bench/prepare_ring.sh
# (carry .carry).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}; mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
ring=.carry/ring
# RT_SRC: the runtime's sources (another revision's, for an A/B in one call).
src=${RT_SRC:-runtime}; rt=/tmp/rt-$(echo "$src" | tr / _)
cmake -G Ninja -S "$src" -B "$rt" > /dev/null && ninja -C "$rt" > /dev/null || exit 1
export RINGATTN_RUNTIME_LIB=$rt/lib/libringattn_runtime.so
tag=${TAG:-quick}
sizes=${SIZES:-"16384 32768"}
mods=(z2_s4096_h32-4_d128)
for s in $sizes; do mods+=(z2_s${s}_h32-4_d128 s1_s${s}_h32-4_d128); done
for p in "${mods[@]}"; do
  g++ -O2 -shared -fPIC -I$ring/$p -Iruntime/include $ring/$p/ringattn_package.cpp -o $ring/$p/libringattn_package.so &
done; wait
run2() { timeout "$1" torchrun --standalone --nproc_per_node 2 "${@:2}"; }
run2 60 test/GPU/ring_check.py --graph $ring/z2_s4096_h32-4_d128:2 2>&1 | grep -E "^(PASS|FAIL)|passed"
ringp=(); single=()
for s in $sizes; do ringp+=($ring/z2_s${s}_h32-4_d128); single+=($ring/s1_s${s}_h32-4_d128); done
run2 180 bench/ring_bench.py --ring "${ringp[@]}" --single "${single[@]}" --iters 10 --repeats 3 \
  --timeline $ring/z2_s${TIMELINE:-16384}_h32-4_d128 --json "$out/ring-bench-$tag.json" 2>&1 | grep -E "^S=|steady|Error"
