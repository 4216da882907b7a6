#!/usr/bin/env bash
# Generates, on the CPU machine, the kernels the GPU scripts use, into
# .carry/gen (check grid), .carry/bench (benchmark shapes) and .carry/edge
# (numerical edge cases, test/GPU/edge_cases.py). The device
# machine has no MLIR: carry .carry with the call (see bench/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
gen=build/bin/ringattn-gen
out=.carry
rm -rf "$out/gen" "$out/bench" "$out/edge"
mkdir -p "$out/gen" "$out/bench" "$out/edge"

# name cp seq heads kv_heads head_dim dtype layout mask
check_grid=(
  "s128_d128_h32-4_causal     1   128 32  4 128 bf16 zigzag     --causal"
  "s1000_d64_h16-1_causal     1  1000 16  1  64 bf16 zigzag     --causal"
  "s4096_d128_h8-8_full       1  4096  8  8 128 bf16 zigzag     --no-causal"
  "s16384_d64_h32-4_causal    1 16384 32  4  64 bf16 zigzag     --causal"
  "s16384_d128_h16-1_full     1 16384 16  1 128 bf16 zigzag     --no-causal"
  "s1000_d128_h8-8_full       1  1000  8  8 128 bf16 zigzag     --no-causal"
  "s128_d64_h16-1_full        1   128 16  1  64 bf16 zigzag     --no-causal"
  "s4096_d64_h32-4_causal_f16 1  4096 32  4  64 fp16 zigzag     --causal"
  "s16384_d128_h32-4_causal   1 16384 32  4 128 bf16 zigzag     --causal"
  "cp2_s4096_d128_h32-4       2  8192 32  4 128 bf16 zigzag     --causal"
  "cp4_s1000_d64_h8-8         4  4000  8  8  64 bf16 zigzag     --causal"
  "cp3_s128_d128_h16-1_full   3   384 16  1 128 fp16 zigzag     --no-causal"
  "cp2_contig_s1000_d128      2  2000 16  1 128 bf16 contiguous --causal"
  "cp4_s16384_d128_h32-4      4 65536 32  4 128 bf16 zigzag     --causal"
  "cp2_s256_d128_h8-2         2   256  8  2 128 bf16 zigzag     --causal"
  "det_cp2_s4096_d128_h32-4   2  8192 32  4 128 bf16 zigzag     --causal --deterministic"
  "det_s1000_d64_h16-1_causal 1  1000 16  1  64 bf16 zigzag     --causal --deterministic"
  "det_s1000_d128_h8-8_full   1  1000  8  8 128 fp16 zigzag     --no-causal --deterministic"
  "det_cp2_contig_s1000_d128  2  2000 16  1 128 bf16 contiguous --causal --deterministic"
  # MHA at 16k: forward and dQ kernels in two L2 sections of 4 heads.
  "s16384_d128_h8-8_causal    1 16384  8  8 128 bf16 zigzag     --causal"
  "det_cp2_s16384_d128_h8-8   2 32768  8  8 128 bf16 zigzag     --causal --deterministic"
)
bench_shapes=(
  "causal_8k   1  8192 32 4 128 bf16 zigzag --causal"
  "causal_16k  1 16384 32 4 128 bf16 zigzag --causal"
  "causal_32k  1 32768 32 4 128 bf16 zigzag --causal"
  "full_8k     1  8192 32 4 128 bf16 zigzag --no-causal"
  "full_16k    1 16384 32 4 128 bf16 zigzag --no-causal"
  "d64_causal_16k 1 16384 32 4 64 bf16 zigzag --causal"
  "mha_causal_16k 1 16384 32 32 128 bf16 zigzag --causal"
  "det_causal_8k  1  8192 32 4 128 bf16 zigzag --causal --deterministic"
  "det_causal_16k 1 16384 32 4 128 bf16 zigzag --causal --deterministic"
  "det_causal_32k 1 32768 32 4 128 bf16 zigzag --causal --deterministic"
  "det_full_16k   1 16384 32 4 128 bf16 zigzag --no-causal --deterministic"
  "det_d64_causal_16k 1 16384 32 4 64 bf16 zigzag --causal --deterministic"
)
# Edge cases: large scores, fp16 near overflow, the shortest ranks (seq/cp =
# 2: one-token chunks, with 32 heads so that a relative error over a whole
# tensor is not the noise of a few hundred numbers; seq/cp = 4 and 12: chunks
# whose rows start off a 16-byte boundary of LSE), rows fully masked within a
# step.
edge_cases=(
  "large_s1000_d128       1  1000  8  2 128 bf16 zigzag     --causal"
  "large_cp2_s4096_d64    2  4096 16  2  64 bf16 zigzag     --causal"
  "overflow_cp2_s1024_f16 2  1024  8  2 128 fp16 zigzag     --causal"
  "tiny_s2_d64            1     2 32  4  64 bf16 zigzag     --causal"
  "tiny_cp2_s4_d128       2     4 32  4 128 bf16 zigzag     --causal"
  "tiny_cp2_s4_full       2     4 32  4 128 bf16 zigzag     --no-causal"
  "tiny_s4_d64            1     4  4  2  64 bf16 zigzag     --causal"
  "tiny_cp3_s36_d128      3    36  4  2 128 bf16 zigzag     --causal"
  "tiny_cp2_s8_d128       2     8  4  2 128 bf16 zigzag     --causal"
  "tiny_cp2_s8_f16        2     8  4  2 128 fp16 zigzag     --causal"
  "masked_cp4_contig_s64  4    64  8  2 128 bf16 contiguous --causal"
  "masked_cp4_s64         4    64  8  2 128 bf16 zigzag     --causal"
  "large_det_cp2_s4096_d64       2 4096 16 2  64 bf16 zigzag     --causal --deterministic"
  "overflow_det_cp2_s1024_f16    2 1024  8 2 128 fp16 zigzag     --causal --deterministic"
  "tiny_det_cp2_s4_d128          2    4 32 4 128 bf16 zigzag     --causal --deterministic"
  "tiny_det_cp3_s36_d128         3   36  4 2 128 bf16 zigzag     --causal --deterministic"
  "masked_det_cp4_contig_s64     4   64  8 2 128 bf16 contiguous --causal --deterministic"
)
generate() {
  local dir=$1; shift
  read -r name cp seq heads kv dim dtype layout mask extra <<<"$*"
  "$gen" --cp "$cp" --seq "$seq" --heads "$heads" --kv-heads "$kv" \
    --head-dim "$dim" --dtype "$dtype" --layout "$layout" "$mask" $extra \
    -o "$dir/$name" > /dev/null
}
for line in "${check_grid[@]}"; do generate "$out/gen" "$line"; done
for line in "${bench_shapes[@]}"; do generate "$out/bench" "$line"; done
for line in "${edge_cases[@]}"; do generate "$out/edge" "$line"; done
echo "prepare: $(ls "$out/gen" | wc -l) check configs, $(ls "$out/bench" | wc -l) bench configs, $(ls "$out/edge" | wc -l) edge cases, $(du -sh "$out" | cut -f1)"
