#!/usr/bin/env bash
set -u
out=$OUT
nvidia-smi --query-gpu=name,compute_cap,driver_version,power.limit --format=csv,noheader > $out/device.txt
cmake -G Ninja -S runtime -B /tmp/rt -DRINGATTN_CUDA_ROOT=/usr/local/cuda > /dev/null && ninja -C /tmp/rt > /dev/null || echo "runtime build failed"
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
t0=$(date +%s)
timeout 120 python3 test/GPU/forward_check.py .carry/gen/* --json $out/forward-check.json > $out/forward-check.log 2>&1; echo "fwdcheck $(( $(date +%s)-t0 ))s" >> $out/times.txt
cases=$(for d in .carry/edge/*/; do n=$(basename "$d"); echo "${n%%_*}=$d"; done)
timeout 90 python3 test/GPU/edge_cases.py $cases --json $out/edge-cases.json > $out/edge-cases.log 2>&1; echo "edge $(( $(date +%s)-t0 ))s" >> $out/times.txt
echo "HGMMA in causal_16k: $(/usr/local/cuda/bin/cuobjdump --dump-sass .carry/bench/causal_16k/kernels.cubin | grep -c HGMMA)" > $out/sass.txt
/usr/local/cuda/bin/cuobjdump --dump-sass .carry/bench/causal_16k/kernels.cubin | awk '/Function :/{f=$3} /R2UR/{n[f]++} END{for (k in n) print k, "R2UR", n[k]}' >> $out/sass.txt
timeout 150 python3 bench/attention_bench.py .carry/bench/* --repeats 3 --json $out/attention-bench.json > $out/attention-bench.log 2>&1; echo "bench $(( $(date +%s)-t0 ))s" >> $out/times.txt

grep -E "passed|FAIL" $out/*.log; cat $out/times.txt $out/sass.txt; tail -14 $out/attention-bench.log
tar -C $out -czf /tmp/r.tgz . && rm -rf $out/* && mv /tmp/r.tgz $out/results.tgz
