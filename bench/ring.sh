#!/usr/bin/env bash
# On a 2-GPU machine (device kind nvidia-h100-x2), in one call: build the
# runtime and every carried package module (.carry/ring from
# bench/prepare_ring.sh), build and run the example through the CMake package,
# then, by MODE (default "check bench"):
#   check: the ring against fp64 (test/GPU/ring_check.py, cp = 2 and cp = 1),
#          CUDA graph capture, and the fault checks (test/GPU/ring_faults.py:
#          mismatches, silent and exited peers, injected NCCL and launch
#          faults with recovery, a peer dying mid-backward);
#   smoke: the first two ring cases and the fault checks only;
#   faults: the fault checks only;
#   bench: bench/ring_bench.py (ours: ring, no transfers, single GPU;
#          timeline) and the anchors (PyTorch context_parallel, the seed's
#          algorithm on cuDNN) in the same call.
# NPROC=4 (device kind nvidia-h100-x4 or nvidia-h200-x4) runs the cp = 4 set
# instead: ring checks of both layouts, the benchmark of zigzag against
# contiguous at S = 32k and the anchors on four ranks (no example, no fault
# checks: those are two-rank scripts). NPROC=8 (nvidia-h100-x8 or
# nvidia-h200-x8): the cp = 8 set, ring checks at 8k, 64k and 128k, the
# benchmark and the anchors at 64k and 128k. Logs and JSON under $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mode=${MODE:-check bench}
nproc=${NPROC:-2}
ring=.carry/ring
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee "$out/device.txt"
nvidia-smi topo -m > "$out/topology.txt" 2>&1

source bench/ring_setup.sh

# The example, through find_package(ringattn) on a generated directory.
if [ "$nproc" = 2 ]; then
example=$ring/z2_s32768_h32-4_d128
cmake -G Ninja -S examples -B /tmp/example -Dringattn_DIR=$PWD/$example > "$out/example-build.log" 2>&1 &&
  ninja -C /tmp/example >> "$out/example-build.log" 2>&1 || echo "example build FAILED"
rm -f /tmp/ring-example.id
(timeout 120 /tmp/example/ring_example 0 /tmp/ring-example.id > "$out/example-0.log" 2>&1; echo "rank 0 exit $?" >> "$out/example-0.log") &
timeout 120 /tmp/example/ring_example 1 /tmp/ring-example.id > "$out/example-1.log" 2>&1; echo "rank 1 exit $?" >> "$out/example-1.log"
wait
cat "$out/example-0.log" "$out/example-1.log"
fi

status=0
run2() { timeout "$1" torchrun --standalone --nproc_per_node "$nproc" "${@:2}"; }
anchor_seqs=16384,32768,65536
if [ "$nproc" = 8 ]; then
  # fp64 references at 128k take one sequence: batch 1 there.
  cases=(z8_s8192_h32-4_d128:1 z8_s8192_h32-4_d128:2 z8_s65536_h32-4_d128:1 z8_s131072_h32-4_d128:1)
  bench_ring=($ring/z8_s{65536,131072}_h32-4_d128)
  bench_single=($ring/s1_s{65536,131072}_h32-4_d128)
  timeline=$ring/z8_s65536_h32-4_d128
  anchor_seqs=65536,131072
elif [ "$nproc" = 4 ]; then
  cases=(
    z4_s4096_h32-4_d128:1 z4_s4096_h32-4_d128:2 c4_s4096_h32-4_d128:2 z4_s16384_h8-8_d64:1
    z4_s32768_h32-4_d128:1 c4_s32768_h32-4_d128:1
  )
  bench_ring=($ring/z4_s32768_h32-4_d128 $ring/c4_s32768_h32-4_d128)
  bench_single=($ring/s1_s32768_h32-4_d128)
  timeline=$ring/z4_s32768_h32-4_d128
else
  cases=(
    d2_s4096_h32-4_d128:2 z2_s4096_h32-4_d128:2 z2_s4096_h32-4_d128:1 z2_s4096_h8-8_d64:2
    c2_s4096_h32-4_d128:2 c2_s4096_h8-8_d64:1 z2_s32768_h32-4_d128:1 z2_s32768_h8-8_d128:2
    c2_s32768_h32-4_d64:1 z2_s32768_h32-4_d64:2 c2_s32768_h8-8_d128:1 z2_s65536_h32-4_d128:1
    c2_s65536_h32-4_d128:1 z2_s65536_h8-8_d64:2 d2_s32768_h32-4_d128:1
  )
  bench_ring=($ring/z2_s{16384,32768,65536}_h32-4_d128)
  bench_single=($ring/s1_s{16384,32768,65536}_h32-4_d128)
  timeline=$ring/z2_s32768_h32-4_d128
fi
if [[ " $mode " == *" smoke "* ]]; then cases=("${cases[@]:0:2}"); fi
if [[ " $mode " == *" check "* || " $mode " == *" smoke "* ]]; then
  run2 420 test/GPU/ring_check.py --graph --json "$out/ring-check.json" \
    $(printf "$ring/%s " "${cases[@]}") > "$out/ring-check.log" 2>&1 || status=1
  grep -E "^(PASS|FAIL|seed)|passed|Error|error" "$out/ring-check.log" | head -40
  if [[ " $mode " == *" check "* ]]; then
    CUDA_VISIBLE_DEVICES=0 timeout 120 python3 test/GPU/ring_check.py \
      --json "$out/ring-check-cp1.json" $ring/s1_s4096_h32-4_d128:2 $ring/s1_s16384_h8-8_d64:1 \
      > "$out/ring-check-cp1.log" 2>&1 || status=1
    grep -E "^(PASS|FAIL)|passed" "$out/ring-check-cp1.log"
  fi
fi
if [ "$nproc" = 2 ] && [[ " $mode " == *" check "* || " $mode " == *" smoke "* || " $mode " == *" faults "* ]]; then
  OUT="$out" bash bench/faults.sh || status=1
fi
if [[ " $mode " == *" bench "* ]]; then
  run2 400 bench/ring_bench.py --ring "${bench_ring[@]}" --single "${bench_single[@]}" \
    --timeline "$timeline" --json "$out/ring-bench.json" > "$out/ring-bench.log" 2>&1 || status=1
  grep -E "^S=|steady|Error" "$out/ring-bench.log"
  export ANCHOR_SEQS=$anchor_seqs  # the anchors' lengths (prepare_ring.sh)
  run2 240 .carry/anchors/cp_ring.py 4 > "$out/anchor-cp-ring.log" 2>&1 || echo "cp_ring.py failed"
  grep '"backend": "cudnn"' "$out/anchor-cp-ring.log" | head -12
  run2 240 .carry/anchors/seed_ring.py cudnn 4 > "$out/anchor-seed-ring.log" 2>&1 || echo "seed_ring.py failed"
  tail -8 "$out/anchor-seed-ring.log"
fi
exit $status
