# Sourced by the ring scripts on the device machine (bench/ring.sh,
# bench/ring_one_gpu.sh) with $ring (a prepare_ring.sh directory) and $out
# set: builds the runtime and runs its tests, then builds every carried
# package module.
cmake -G Ninja -S runtime -B /tmp/rt -DRINGATTN_CUDA_ROOT=/usr/local/cuda > /dev/null &&
  ninja -C /tmp/rt > /dev/null || { echo "runtime build failed"; exit 1; }
export RINGATTN_RUNTIME_LIB=/tmp/rt/lib/libringattn_runtime.so
/tmp/rt/bin/ringattn-runtime-tests > "$out/runtime-tests.log" || echo "runtime tests FAILED"
tail -1 "$out/runtime-tests.log"
ls -d "$ring"/*/ | xargs -P 16 -I{} sh -c \
  'g++ -O2 -shared -fPIC -I{} -Iruntime/include {}ringattn_package.cpp -o {}libringattn_package.so' ||
  { echo "package modules failed"; exit 1; }
