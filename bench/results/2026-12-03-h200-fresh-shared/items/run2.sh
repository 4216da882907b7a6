#!/usr/bin/env bash
set -u
out=$OUT
cmake -G Ninja -S runtime -B /tmp/rt -DRINGATTN_CUDA_ROOT=/usr/local/cuda > /dev/null && ninja -C /tmp/rt > /dev/null || echo "runtime build failed"
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
ncu=$(ls /opt/nvidia/nsight-compute/*/ncu 2>/dev/null | head -1)
for v in r1 r2; do
  for s in f8k c16k; do
  timeout 100 "$ncu" --clock-control none --section LaunchStats --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section MemoryWorkloadAnalysis \
    --metrics sm__cycles_active.avg,sm__cycles_active.min,sm__cycles_active.max,gpc__cycles_elapsed.max,smsp__inst_executed.sum,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio \
    --kernel-name "regex:^fwd_" --launch-skip 2 --launch-count 1 python3 bench/kernel_times.py --ours-only --iters 3 .carry/var/b1/$v/$s > $out/ncu-$v-$s.txt 2>&1
  done
done
grep -E "Duration|Elapsed Cycles|SM Frequency|sm__cycles_active|gpc__cycles|inst_executed.sum|hmma|Issued Warp|No Eligible|Compute \(SM\) Th|Memory Th|L2 Hit|stalled_barrier" $out/ncu-*.txt
