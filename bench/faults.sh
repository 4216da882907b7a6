#!/usr/bin/env bash
# The ring's fault checks on 2 GPUs (test/GPU/ring_faults.py): mismatched
# packages and batches, a silent peer, injected NCCL and launch faults with
# recovery, an exited peer; then, in a run of its own (rank 1 ends), a peer
# that dies mid-backward. Builds the runtime (unless RINGATTN_RUNTIME_LIB is
# set) and the three package modules it needs from .carry/ring
# (bench/prepare_ring.sh). JSON under $OUT; non-zero status on a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
ring=${RING:-.carry/ring}
flags=${FAULT_FLAGS:-}  # --one-gpu: both ranks on GPU 0 (RINGATTN_TRANSPORT=ce)
if [ -z "${RINGATTN_RUNTIME_LIB:-}" ]; then
  cmake -G Ninja -S runtime -B /tmp/rt > /dev/null && ninja -C /tmp/rt > /dev/null ||
    { echo "runtime build failed"; exit 1; }
  export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
fi
ring2=$ring/z2_s4096_h32-4_d128 other=$ring/c2_s4096_h32-4_d128 single=$ring/s1_s4096_h32-4_d128
for p in $ring2 $other $single; do
  [ -f $p/libringattn_package.so ] ||
    g++ -O1 -shared -fPIC -I$p -Iruntime/include $p/ringattn_package.cpp -o $p/libringattn_package.so &
done
wait
rm -rf /tmp/ring-faults && mkdir -p /tmp/ring-faults
run2() { timeout "$1" torchrun --standalone --nproc_per_node 2 "${@:2}"; }
status=0
run2 120 test/GPU/ring_faults.py $ring2 $other $flags --dir /tmp/ring-faults \
  --json "$out/ring-faults.json" > "$out/ring-faults.log" 2>&1 || status=1
run2 90 test/GPU/ring_faults.py $ring2 $other $flags --scenarios death --single $single \
  --dir /tmp/ring-faults --json "$out/ring-faults-death.json" >> "$out/ring-faults.log" 2>&1 || status=1
grep -E "^(PASS|FAIL)|passed|Error" "$out/ring-faults.log" | cut -c1-240
exit $status
