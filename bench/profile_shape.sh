#!/usr/bin/env bash
# On the GPU machine: where a shape's time goes, ours next to cuDNN's.
# PROFILE_DIRS="DIR..." (cp = 1 packages), BATCH (default 1):
# bench/kernel_times.py --sequence on each; NCU_DIRS="DIR..." adds Nsight
# Compute (launch statistics, occupancy, speed of light, warp states,
# scheduler) on one launch each of our forward and backward kernels and of
# cuDNN's forward and backward kernels at the package's shape. Needs the
# runtime built (RINGATTN_RUNTIME_LIB). Writes kernel-times-*.log and
# ncu-*.txt under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
batch=${BATCH:-1}
status=0
for dir in ${PROFILE_DIRS:-}; do
  log="$out/kernel-times-$(basename "$dir")-b$batch.log"
  timeout 200 python3 bench/kernel_times.py --sequence --batch "$batch" "$dir" > "$log" 2>&1 || status=1
  grep -v -i warn "$log"
done
ncu=$(ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
sections="--section LaunchStats --section Occupancy --section SpeedOfLight --section WarpStateStats --section SchedulerStats"
for dir in ${NCU_DIRS:-}; do
  [ -n "$ncu" ] || { echo "no ncu"; status=1; break; }
  name=$(basename "$dir")-b$batch
  for side in "ours:^fwd_" "ours:^bwd_q" "cudnn:fprop" "cudnn:bprop"; do
    who=${side%%:*} regex=${side#*:}
    file="$out/ncu-$who-$name-${regex//[^a-z]/}.txt"
    timeout 150 "$ncu" --clock-control none $sections --kernel-name "regex:$regex" \
      --launch-skip 2 --launch-count 1 python3 bench/kernel_times.py --$who-only --iters 3 \
      --batch "$batch" "$dir" > "$file" 2>&1 || status=1
    echo "== $file"
    grep -E "Duration|Registers Per|Block Size|Grid Size|Dynamic Shared Memory Per|Achieved Occ|Theoretical Occ|Compute \(SM\) Th|Memory Th|Waves Per|Issued Warp|No Eligible" "$file"
  done
done
exit $status
