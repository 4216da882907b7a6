#!/usr/bin/env bash
# Generates, on the CPU machine, the packages of the PyTorch checks and the
# training example into .carry/torch (bench/torch_op.sh runs them on a 2-GPU
# machine, which has no MLIR: carry .carry/torch with the call).
#   z2_s4096_h8-2_d128      the example's attention (Qwen3-style GQA 8:2,
#                           head_dim 128, bf16), cp = 2 zigzag: the training
#                           run and most of test/GPU/torch_op_check.py
#   z2_s4096_h4-4_d64_fp16  fp16, MHA, head_dim 64, cp = 2: another dtype and shape
#   s1_s4096_h8-2_d128      cp = 1: the op on one GPU, and "world size != cp"
#   d2_s4096_h8-2_d128      the first, --deterministic (dQ kernel, no reductions)
set -euo pipefail
cd "$(dirname "$0")/.."
gen=build/bin/ringattn-gen
out=.carry/torch
rm -rf "$out"
mkdir -p "$out"
# name cp seq heads kv_heads head_dim dtype
packages=(
  "z2_s4096_h8-2_d128      2 4096 8 2 128 bf16"
  "z2_s4096_h4-4_d64_fp16  2 4096 4 4  64 fp16"
  "s1_s4096_h8-2_d128      1 4096 8 2 128 bf16"
  "d2_s4096_h8-2_d128      2 4096 8 2 128 bf16 --deterministic"
)
start=$(date +%s.%N)
for line in "${packages[@]}"; do
  read -r name cp seq heads kv dim dtype flags <<<"$line"
  # shellcheck disable=SC2086  # flags: zero or more words
  "$gen" --cp "$cp" --seq "$seq" --heads "$heads" --kv-heads "$kv" --head-dim "$dim" \
    --dtype "$dtype" --layout zigzag ${flags:-} -o "$out/$name" > /dev/null
  rm "$out/$name/kernels.ptx"  # not needed on the device; saves the carry
done
echo "prepare_torch: ${#packages[@]} packages in $(echo "$(date +%s.%N) - $start" | bc) s, $(du -sh "$out" | cut -f1)"
