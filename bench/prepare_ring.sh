#!/usr/bin/env bash
# Generates, on the CPU machine, the packages the ring scripts use into
# .carry/ring (cp = 2 and cp = 4 checks and benchmarks; cp = 1 single-GPU
# baselines).
# The device machine has no MLIR: carry .carry with the call (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=build/bin/ringattn-gen
out=.carry/ring
rm -rf "$out"
mkdir -p "$out"
# name cp seq heads kv_heads head_dim layout
packages=(
  "z2_s4096_h32-4_d128    2  4096 32 4 128 zigzag"
  "z2_s4096_h8-8_d64      2  4096  8 8  64 zigzag"
  "c2_s4096_h32-4_d128    2  4096 32 4 128 contiguous"
  "c2_s4096_h8-8_d64      2  4096  8 8  64 contiguous"
  "z2_s16384_h32-4_d128   2 16384 32 4 128 zigzag"
  "z2_s32768_h32-4_d128   2 32768 32 4 128 zigzag"
  "z2_s32768_h8-8_d128    2 32768  8 8 128 zigzag"
  "z2_s32768_h32-4_d64    2 32768 32 4  64 zigzag"
  "c2_s32768_h32-4_d64    2 32768 32 4  64 contiguous"
  "c2_s32768_h8-8_d128    2 32768  8 8 128 contiguous"
  "z2_s65536_h32-4_d128   2 65536 32 4 128 zigzag"
  "c2_s65536_h32-4_d128   2 65536 32 4 128 contiguous"
  "z2_s65536_h8-8_d64     2 65536  8 8  64 zigzag"
  "z4_s4096_h32-4_d128    4  4096 32 4 128 zigzag"
  "c4_s4096_h32-4_d128    4  4096 32 4 128 contiguous"
  "z4_s16384_h8-8_d64     4 16384  8 8  64 zigzag"
  "z4_s32768_h32-4_d128   4 32768 32 4 128 zigzag"
  "c4_s32768_h32-4_d128   4 32768 32 4 128 contiguous"
  "s1_s4096_h32-4_d128    1  4096 32 4 128 zigzag"
  "s1_s16384_h8-8_d64     1 16384  8 8  64 zigzag"
  "s1_s16384_h32-4_d128   1 16384 32 4 128 zigzag"
  "s1_s32768_h32-4_d128   1 32768 32 4 128 zigzag"
  "s1_s65536_h32-4_d128   1 65536 32 4 128 zigzag"
)
start=$(date +%s.%N)
for line in "${packages[@]}"; do
  read -r name cp seq heads kv dim layout <<<"$line"
  "$gen" --cp "$cp" --seq "$seq" --heads "$heads" --kv-heads "$kv" \
    --head-dim "$dim" --layout "$layout" -o "$out/$name" > /dev/null
  rm "$out/$name/kernels.ptx"  # not needed on the device; saves the carry
done
mkdir -p .carry/anchors && cp ../shared/anchors/*.py .carry/anchors/
echo "prepare_ring: ${#packages[@]} packages in $(echo "$(date +%s.%N) - $start" | bc) s, $(du -sh "$out" | cut -f1)"
