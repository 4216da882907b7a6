#!/usr/bin/env bash
# The ring over the copy engines (RINGATTN_TRANSPORT=ce) with every rank on
# one GPU (device kind nvidia-h100 or nvidia-h200): NCCL refuses two ranks on
# one GPU, the copy-engine transport does not, so the cp = 2, 4 and 8
# programs run end to end against fp64 on a single-GPU machine. Correctness
# only (the ranks time-share the GPU). In one call: build the runtime and
# its tests, the package modules of .carry/ring-ce (prepare with
#   RING_ONLY='z2_s4096_h32-4_d128|c2_s4096_h32-4_d128|z2_s4096_h8-8_d64|d2_s4096_h32-4_d128|z4_s4096_h32-4_d128|c4_s4096_h32-4_d128|z4_s16384_h8-8_d64|z8_s8192_h32-4_d128|s1_s4096_h32-4_d128|z4_s32768_h32-4_d128|c4_s32768_h32-4_d128|z8_s65536_h32-4_d128|z8_s131072_h32-4_d128' \
#   RING_OUT=.carry/ring-ce bench/prepare_ring.sh
# ), then MODE (default "check faults"):
#   check:  test/GPU/ring_check.py --one-gpu at cp = 2 (graph capture too),
#           4 and 8;
#   large:  the multi-GPU issues' configurations (Hq 32, Hkv 4, D 128):
#           cp = 4 at S = 32k, zigzag and contiguous; cp = 8 at 64k and 128k;
#   faults: test/GPU/ring_faults.py --one-gpu (bench/faults.sh).
# Logs and JSON under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
mode=${MODE:-check faults}
ring=.carry/ring-ce
export RINGATTN_TRANSPORT=ce
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee "$out/device.txt"
source bench/ring_setup.sh

status=0
ranks() { timeout "$1" torchrun --standalone --nproc_per_node "$2" "${@:3}"; }
if [[ " $mode " == *" check "* ]]; then
  for set in "2 --graph z2_s4096_h32-4_d128:2 d2_s4096_h32-4_d128:1 c2_s4096_h32-4_d128:1 z2_s4096_h8-8_d64:2" \
             "4 z4_s4096_h32-4_d128:1 c4_s4096_h32-4_d128:2 z4_s16384_h8-8_d64:1" \
             "8 z8_s8192_h32-4_d128:1"; do
    read -r n rest <<<"$set"
    args=()
    for a in $rest; do [[ $a == --* ]] && args+=("$a") || args+=("$ring/$a"); done
    ranks 300 "$n" test/GPU/ring_check.py --one-gpu --json "$out/ring-check-cp$n.json" \
      "${args[@]}" > "$out/ring-check-cp$n.log" 2>&1 || status=1
    grep -E "^(PASS|FAIL|seed)|passed|Error" "$out/ring-check-cp$n.log" | cut -c1-300 | head -20
  done
fi
if [[ " $mode " == *" large "* ]]; then
  for set in "4 z4_s32768_h32-4_d128:1 c4_s32768_h32-4_d128:1" "8 z8_s65536_h32-4_d128:1 z8_s131072_h32-4_d128:1"; do
    read -r n rest <<<"$set"
    ranks 400 "$n" test/GPU/ring_check.py --one-gpu --json "$out/ring-check-large-cp$n.json" \
      $(printf "$ring/%s " $rest) > "$out/ring-check-large-cp$n.log" 2>&1 || status=1
    grep -E "^(PASS|FAIL|seed)|passed|Error" "$out/ring-check-large-cp$n.log" | cut -c1-300 | head -20
  done
fi
if [[ " $mode " == *" faults "* ]]; then
  RING=$ring FAULT_FLAGS=--one-gpu OUT="$out" bash bench/faults.sh || status=1
fi
exit $status
