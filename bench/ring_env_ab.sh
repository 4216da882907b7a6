#!/usr/bin/env bash
# An A/B of environment settings (NCCL's, typically) on the ring benchmark,
# in one call: builds the runtime and the two package modules, then runs
# bench/ring_bench.py once per variant, alternating variants over REPEATS
# rounds so that clock drift hits all alike. Packages from
# bench/prepare_ring.sh (carry .carry/ring).
#   NPROC (2), RING (z2_s32768_h32-4_d128), SINGLE (s1_s32768_h32-4_d128),
#   REPEATS (2), VARIANTS: ';'-separated lists of VAR=value ("" is the
#   default environment), e.g. "NCCL_MIN_P2P_NCHANNELS=8;NCCL_MIN_P2P_NCHANNELS=16".
# Prints each run's summary lines; JSON under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}; mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
nproc=${NPROC:-2} ring=.carry/ring
pkg=$ring/${RING:-z2_s32768_h32-4_d128} single=$ring/${SINGLE:-s1_s32768_h32-4_d128}
cmake -G Ninja -S runtime -B /tmp/rt > /dev/null && ninja -C /tmp/rt > /dev/null || exit 1
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
for p in $pkg $single; do
  g++ -O2 -shared -fPIC -I$p -Iruntime/include $p/ringattn_package.cpp -o $p/libringattn_package.so &
done; wait
IFS=';' read -r -a variants <<< ";${VARIANTS:-}"
for round in $(seq "${REPEATS:-2}"); do
  for i in "${!variants[@]}"; do
    v=${variants[$i]}
    echo "== round $round, variant $i: ${v:-(default)}"
    # shellcheck disable=SC2086  # the variant is a list of assignments
    env $v timeout 200 torchrun --standalone --nproc_per_node "$nproc" bench/ring_bench.py \
      --ring "$pkg" --single "$single" --timeline "$pkg" \
      --json "$out/ab-$round-$i.json" 2>&1 | grep -E "^S=|steady|Error"
  done
done
