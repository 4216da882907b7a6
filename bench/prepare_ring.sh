#!/usr/bin/env bash
# Generates, on the CPU machine, the packages the ring scripts use into
# .carry/ring (cp = 2, 4 and 8 checks and benchmarks; cp = 1 single-GPU
# baselines), and copies the anchors (../shared/anchors) into .carry/anchors
# with one change: ANCHOR_SEQS (comma-separated) overrides their sequence
# lengths (16k, 32k, 64k), for cp = 8 at 128k. RING_FLAGS (e.g. --deterministic)
# go to every package. RING_ONLY (an extended regex) keeps the packages whose
# names match; RING_OUT replaces .carry/ring (bench/ring_one_gpu.sh uses both).
# The device machine has no MLIR: carry .carry with the call (bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=build/bin/ringattn-gen
out=${RING_OUT:-.carry/ring}
rm -rf "$out"
mkdir -p "$out"
# name cp seq heads kv_heads head_dim layout [flags]
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
  "z8_s8192_h32-4_d128    8  8192 32 4 128 zigzag"
  "z8_s65536_h32-4_d128   8 65536 32 4 128 zigzag"
  "z8_s131072_h32-4_d128  8 131072 32 4 128 zigzag"
  "s1_s4096_h32-4_d128    1  4096 32 4 128 zigzag"
  "s1_s16384_h8-8_d64     1 16384  8 8  64 zigzag"
  "s1_s16384_h32-4_d128   1 16384 32 4 128 zigzag"
  "s1_s32768_h32-4_d128   1 32768 32 4 128 zigzag"
  "s1_s65536_h32-4_d128   1 65536 32 4 128 zigzag"
  "s1_s131072_h32-4_d128  1 131072 32 4 128 zigzag"
  "d2_s4096_h32-4_d128    2  4096 32 4 128 zigzag --deterministic"
  "d2_s32768_h32-4_d128   2 32768 32 4 128 zigzag --deterministic"
)
start=$(date +%s.%N)
made=0
for line in "${packages[@]}"; do
  read -r name cp seq heads kv dim layout flags <<<"$line"
  [[ -n "${RING_ONLY:-}" && ! "$name" =~ ^(${RING_ONLY})$ ]] && continue
  [[ " ${RING_FLAGS:-} " == *" ${flags:-none} "* ]] && flags=""
  # shellcheck disable=SC2086  # flags: zero or more words
  "$gen" --cp "$cp" --seq "$seq" --heads "$heads" --kv-heads "$kv" \
    --head-dim "$dim" --layout "$layout" ${flags:-} ${RING_FLAGS:-} -o "$out/$name" > /dev/null
  rm "$out/$name/kernels.ptx"  # not needed on the device; saves the carry
  made=$((made + 1))
done
mkdir -p .carry/anchors && cp ../shared/anchors/*.py .carry/anchors/
for f in .carry/anchors/cp_ring.py .carry/anchors/seed_ring.py; do
  grep -q "for S in (16384, 32768, 65536):" "$f" ||
    { echo "prepare_ring: $f changed upstream; ANCHOR_SEQS not applied" >&2; continue; }
  sed -i 's/for S in (16384, 32768, 65536):/for S in tuple(int(x) for x in os.environ.get("ANCHOR_SEQS", "16384,32768,65536").split(",")):/' "$f"
done
echo "prepare_ring: $made of ${#packages[@]} packages in $(echo "$(date +%s.%N) - $start" | bc) s, $(du -sh "$out" | cut -f1)"
