#!/usr/bin/env bash
# On a 2-GPU machine (device kind nvidia-h100-x2), in one call, carrying
# .carry/torch (bench/prepare_torch.sh generates it on the CPU machine):
#   build the runtime (/tmp/rt) and every carried package module (g++, as
#   bench/ring.sh does), then, by MODE (default "check train"):
#   check: test/GPU/torch_op_check.py under torchrun (the custom op against
#          fp64 and cuDNN: eager, CUDA graph, torch.compile, argument and
#          configuration checks, opcheck);
#   train: examples/train_ring.py on one GPU with SDPA cuDNN and with SDPA
#          flash (side by side, GPU 0 and GPU 1), then on both GPUs with
#          ringattn (torchrun), and examples/plot_losses.py: the loss curves
#          (PNG) and the gap criterion.
# Logs, JSON and losses.png under $OUT; exit status 0 only if every check
# passed and the gap criterion holds. STEPS overrides the training steps (300).
# Expected: about 4-5 minutes; the timeouts bound it below 9.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
out=${OUT:-/tmp/ringattn-out}
mkdir -p "$out"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
export PYTHONPATH=$PWD/python${PYTHONPATH:+:$PYTHONPATH}
mode=${MODE:-check train}
steps=${STEPS:-300}
pkgs=.carry/torch
ring_pkg=$pkgs/z2_s4096_h8-2_d128
status=0
t0=$(date +%s)
stamp() { echo "[$(($(date +%s) - t0)) s] $*"; }

for p in z2_s4096_h8-2_d128 z2_s4096_h4-4_d64_fp16 s1_s4096_h8-2_d128 d2_s4096_h8-2_d128; do
  [[ -f $pkgs/$p/ringattn_package.cpp ]] ||
    { echo "missing $pkgs/$p: run bench/prepare_torch.sh here and carry .carry/torch"; exit 1; }
done
nvidia-smi --query-gpu=name,compute_cap,driver_version --format=csv,noheader | tee "$out/device.txt"
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
'cudnn', torch.backends.cudnn.version(), 'gpus', torch.cuda.device_count())" | tee -a "$out/device.txt"

stamp "building the runtime and the package modules"
{ cmake -G Ninja -S runtime -B /tmp/rt -DRINGATTN_CUDA_ROOT=/usr/local/cuda &&
  ninja -C /tmp/rt; } > "$out/runtime-build.log" 2>&1 ||
  { echo "runtime build failed"; tail -20 "$out/runtime-build.log"; exit 1; }
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
find $pkgs -mindepth 1 -maxdepth 1 -type d -printf '%p/\n' | xargs -P 8 -I{} sh -c \
  'g++ -O2 -shared -fPIC -I{} -Iruntime/include {}ringattn_package.cpp -o {}libringattn_package.so' ||
  { echo "package modules failed"; exit 1; }
python3 -c "import ringattn.ops; print('ringattn ops:', ringattn.ops._forward_op, ringattn.ops._backward_op)" ||
  { echo "import ringattn.ops failed"; exit 1; }

if [[ " $mode " == *" check "* ]]; then
  stamp "test/GPU/torch_op_check.py"
  timeout 210 torchrun --standalone --nproc_per_node 2 test/GPU/torch_op_check.py \
    $ring_pkg:1 $ring_pkg:2 $pkgs/z2_s4096_h4-4_d64_fp16:2 $pkgs/s1_s4096_h8-2_d128:2 \
    $pkgs/d2_s4096_h8-2_d128:1 \
    --cp1 $pkgs/s1_s4096_h8-2_d128 --json "$out/torch-op-check.json" \
    > "$out/torch-op-check.log" 2>&1
  rc=$?
  grep -E "^(PASS|FAIL)|^    |passed$|^[0-9]+ x " "$out/torch-op-check.log"
  if [[ $rc -ne 0 ]]; then
    status=1
    echo "torch_op_check exit $rc; the log's end:"
    grep -vE "^(PASS|FAIL)|^    " "$out/torch-op-check.log" | tail -40
  fi
fi

if [[ " $mode " == *" train "* ]]; then
  stamp "training: one GPU, SDPA cuDNN (GPU 0) and flash (GPU 1)"
  declare -A gpu=([cudnn]=0 [flash]=1) pid=()
  for b in cudnn flash; do
    CUDA_VISIBLE_DEVICES=${gpu[$b]} timeout 120 python3 examples/train_ring.py --single \
      --backend $b --steps "$steps" --json "$out/train-$b.json" > "$out/train-$b.log" 2>&1 &
    pid[$b]=$!
  done
  for b in cudnn flash; do
    wait "${pid[$b]}" || { status=1; echo "the $b run failed:"; tail -25 "$out/train-$b.log"; }
    grep -E "tokens/s" "$out/train-$b.log"
  done
  stamp "training: ringattn on 2 GPUs"
  timeout 150 torchrun --standalone --nproc_per_node 2 examples/train_ring.py --ring "$ring_pkg" \
    --steps "$steps" --json "$out/train-ring.json" > "$out/train-ring.log" 2>&1 ||
    { status=1; echo "the ring run failed:"; tail -40 "$out/train-ring.log"; }
  grep -E "tokens/s" "$out/train-ring.log"
  if [[ -f $out/train-ring.json && -f $out/train-cudnn.json && -f $out/train-flash.json ]]; then
    python3 examples/plot_losses.py --ring "$out/train-ring.json" --cudnn "$out/train-cudnn.json" \
      --flash "$out/train-flash.json" --png "$out/losses.png" --summary "$out/losses-summary.json" ||
      status=1
  else
    status=1
    echo "no gap criterion: a training run wrote no JSON"
  fi
fi
stamp "done, exit $status"
exit $status
