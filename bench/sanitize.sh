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
         .carry/edge/tiny_cp2_s8_d128 .carry/edge/tiny_cp2_s4_d128
         .carry/edge/masked_cp4_s64 .carry/gen/cp2_s256_d128_h8-2
         .carry/gen/det_s1000_d64_h16-1_causal .carry/gen/det_cp2_contig_s1000_d128)
# SANITIZE_CONFIGS="dir ..." checks those instead.
[ -z "${SANITIZE_CONFIGS:-}" ] || read -r -a configs <<<"$SANITIZE_CONFIGS"
# Only this project's kernels: a regular expression where the sanitizer
# takes one; else one pass per name prefix (--kernel-name kns=, a
# substring); else every kernel (PyTorch's and cuDNN's too).
help=$("$sanitizer" --help 2>&1)
if grep -q -- "--kernel-regex" <<<"$help"; then
  filters=("--kernel-regex kns=^(fwd|bwd|dq)_")
elif grep -q -- "--kernel-name" <<<"$help"; then
  filters=("--kernel-name kns=fwd_" "--kernel-name kns=bwd_" "--kernel-name kns=dq_")
else
  filters=("")
fi
"$sanitizer" --version | tail -1
status=0
for tool in "${tools[@]}"; do
  for check in forward_check backward_check; do
    for filter in "${filters[@]}"; do
      # The forward check launches no backward kernel.
      [[ $check == forward_check && $filter == *kns=bwd_* ]] && continue
      [[ $check == forward_check && $filter == *kns=dq_* ]] && continue
      tag=$(echo "${filter:-all}" | tr -c 'a-z_\n' '-' | sed 's/-*$//')
      log="$out/sanitize-$tool-$check-$tag.log"
      # shellcheck disable=SC2086  # the filter is two words
      "$sanitizer" --tool "$tool" --error-exitcode 3 --print-limit 20 $filter \
        python3 "test/GPU/$check.py" "${configs[@]}" --batch 1 > "$log" 2>&1
      rc=$?
      summary=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1)
      passed=$(grep -E "passed$" "$log" | tail -1)
      echo "sanitize $tool $check ${filter:-(every kernel)}: exit $rc; ${summary:-no summary}; ${passed:-no result}"
      [ $rc -eq 0 ] || status=1
    done
  done
done
# One archive: the device returns a limited number of files.
tar -czf "$out/sanitize-logs.tar.gz" -C "$out" $(cd "$out" && ls sanitize-*.log) && rm -f "$out"/sanitize-*.log
exit $status
