#!/usr/bin/env bash
# compute-sanitizer on the generated kernels, small configurations with tails
# (one GPU; needs .carry from bench/prepare.sh). usage: sanitize.sh [TOOL...]
# (default: memcheck racecheck synccheck). Runs test/GPU/forward_check.py and
# backward_check.py under each tool, instrumenting only this project's
# kernels (fwd_*, bwd_*, dq_*: not cuDNN's or PyTorch's), with PyTorch's
# caching allocator off so that every tensor is its own allocation (an access
# past a tensor's end is then outside any allocation). Reports under $OUT;
# non-zero status if any tool reports an error.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
tools=("$@")
[ ${#tools[@]} -gt 0 ] || tools=(memcheck racecheck synccheck)
sanitizer=/usr/local/cuda/bin/compute-sanitizer
export PYTORCH_NO_CUDA_MEMORY_CACHING=1
configs=(.carry/gen/s128_d128_h32-4_causal .carry/gen/s1000_d64_h16-1_causal
         .carry/gen/cp2_contig_s1000_d128 .carry/gen/cp3_s128_d128_h16-1_full
         .carry/edge/tiny_cp2_s8_d128 .carry/edge/masked_cp4_s64)
if "$sanitizer" --help 2>&1 | grep -q -- "--kernel-regex"; then
  filter=(--kernel-regex "kns=^(fwd|bwd|dq)_")
else
  echo "sanitize: no --kernel-regex in $("$sanitizer" --version | tail -1); checking every kernel"
  filter=()
fi
"$sanitizer" --version | tail -1
status=0
for tool in "${tools[@]}"; do
  for check in forward_check backward_check; do
    log="$out/sanitize-$tool-$check.log"
    "$sanitizer" --tool "$tool" --error-exitcode 3 --print-limit 20 "${filter[@]}" \
      python3 "test/GPU/$check.py" "${configs[@]}" --batch 1 > "$log" 2>&1
    rc=$?
    summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1)
    passed=$(grep -E "passed$" "$log" | tail -1)
    echo "sanitize $tool $check: exit $rc; ${summary:-no summary}; ${passed:-no result}"
    [ $rc -eq 0 ] || status=1
  done
done
exit $status
