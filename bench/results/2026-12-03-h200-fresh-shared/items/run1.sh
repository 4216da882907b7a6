#!/usr/bin/env bash
set -u
out=$OUT
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
nvidia-smi --query-gpu=name,compute_cap,driver_version,power.limit --format=csv,noheader > $out/device.txt
cmake -G Ninja -S runtime -B /tmp/rt -DRINGATTN_CUDA_ROOT=/usr/local/cuda > /dev/null && ninja -C /tmp/rt > /dev/null || echo "runtime build failed"
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
t0=$(date +%s)
timeout 100 python3 bench/attention_bench.py --no-backward --batch 8 --repeats 3 .carry/var/b8/*/* > $out/b8.log 2>&1; echo "b8 done $(( $(date +%s)-t0 ))s" >> $out/times.txt
timeout 130 python3 bench/attention_bench.py --no-backward --repeats 3 .carry/var/b1/{base,r1,r2,r3}/* > $out/b1.log 2>&1; echo "b1 done $(( $(date +%s)-t0 ))s" >> $out/times.txt
timeout 120 python3 test/GPU/forward_check.py .carry/var/gen/u2/* .carry/var/gen/u3/s1000* .carry/var/gen/u3/cp* > $out/fwdcheck.log 2>&1; echo "fwdcheck done $(( $(date +%s)-t0 ))s" >> $out/times.txt
cases=$(for d in .carry/var/edge/u2/*/; do n=$(basename "$d"); echo "${n%%_*}=$d"; done)
timeout 60 python3 test/GPU/edge_cases.py $cases > $out/edge.log 2>&1; echo "edge done $(( $(date +%s)-t0 ))s" >> $out/times.txt
timeout 120 python3 bench/attention_bench.py --repeats 3 .carry/var/b1/{base,rb}/{c16k,f8k,d64} > $out/bwd.log 2>&1; echo "bwd done $(( $(date +%s)-t0 ))s" >> $out/times.txt
timeout 60 python3 test/GPU/backward_check.py .carry/var/gen/rb/s1000_d64* .carry/var/gen/rb/cp2_s4096* .carry/var/gen/rb/det_cp2_s4096* .carry/var/gen/rb/s4096_d64* .carry/var/gen/rb/s16384_d128_h8-8* > $out/bwdcheck.log 2>&1; echo "bwdcheck done $(( $(date +%s)-t0 ))s" >> $out/times.txt
tail -3 $out/*.log
cat $out/times.txt
