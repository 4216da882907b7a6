#!/usr/bin/env bash
# On the GPU machine, in one call: build the runtime, check the generated
# kernels against fp64 (test/GPU/forward_check.py, backward_check.py), confirm
# HGMMA in the SASS, and time the benchmark shapes, forward and
# forward+backward, next to cuDNN and FA2 (3 repeats, median); the numerical
# edge cases (test/GPU/edge_cases.py, .carry/edge); with SANITIZE="memcheck
# racecheck synccheck", compute-sanitizer on small kernels (bench/sanitize.sh).
# CHECK, EDGE and BENCH narrow the packages to names matching a glob (e.g.
# CHECK='det_*'); KERNEL_TIMES="dir ..." adds bench/kernel_times.py.
# Needs .carry from bench/prepare.sh. Writes logs and JSON under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee "$out/device.txt"

cmake -G Ninja -S runtime -B /tmp/ringattn-runtime -DRINGATTN_CUDA_ROOT=/usr/local/cuda > /dev/null &&
  ninja -C /tmp/ringattn-runtime > /dev/null || { echo "runtime build failed"; exit 1; }
export RINGATTN_RUNTIME_LIB=/tmp/ringattn-runtime/lib/libringattn_runtime.so
/tmp/ringattn-runtime/bin/ringattn-runtime-tests > "$out/runtime-tests.log" || echo "runtime tests FAILED"
tail -1 "$out/runtime-tests.log"

status=0
if [ "${SKIP_CHECK:-0}" != 1 ]; then
  timeout 300 python3 test/GPU/forward_check.py .carry/gen/${CHECK:-*} --json "$out/forward-check.json" \
    > "$out/forward-check.log" 2>&1 || status=1
  grep -E "^(FAIL|seed)|passed" "$out/forward-check.log"
  timeout 400 python3 test/GPU/backward_check.py .carry/gen/${CHECK:-*} --json "$out/backward-check.json" \
    > "$out/backward-check.log" 2>&1 || status=1
  grep -E "^(FAIL|seed)|passed|bit-identical" "$out/backward-check.log"
fi
if [ "${SKIP_EDGE:-0}" != 1 ] && [ -d .carry/edge ]; then
  cases=$(for d in .carry/edge/${EDGE:-*}/; do n=$(basename "$d"); echo "${n%%_*}=$d"; done)
  timeout 300 python3 test/GPU/edge_cases.py $cases --json "$out/edge-cases.json" \
    > "$out/edge-cases.log" 2>&1 || status=1
  grep -E "^(FAIL|PASS|seed)|passed" "$out/edge-cases.log"
fi
if [ -n "${SANITIZE:-}" ]; then
  OUT="$out" timeout "${SANITIZE_TIMEOUT:-420}" bash bench/sanitize.sh $SANITIZE || status=1
fi
for cubin in .carry/bench/causal_16k/kernels.cubin; do
  echo "HGMMA in $cubin: $(/usr/local/cuda/bin/cuobjdump --dump-sass "$cubin" | grep -c HGMMA)"
done
if [ "${SKIP_BENCH:-0}" != 1 ]; then
  timeout 400 python3 bench/attention_bench.py .carry/bench/${BENCH:-*} --repeats 3 \
    --json "$out/attention-bench.json" 2>&1 | tee "$out/attention-bench.log" || status=1
fi
if [ -n "${KERNEL_TIMES:-}" ]; then
  timeout 200 python3 bench/kernel_times.py --sequence $KERNEL_TIMES 2>&1 | tee "$out/kernel-times.log" || status=1
fi
exit $status
