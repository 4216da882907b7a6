#!/usr/bin/env bash
# The hardened check (docs/hardening.md): builds ringattn once more with
# clang 22 into ./build-hardened, with AddressSanitizer (leaks included),
# UndefinedBehaviorSanitizer and libFuzzer's coverage on every project
# target, runs the whole test suite there (any sanitizer report aborts the
# tool and fails its test), then runs each fuzz target for $FUZZ_SECONDS
# (default 60) from seed corpora made from the lit tests
# (utils/fuzz-seeds.py). A crash, hang, leak or sanitizer report fails the
# script; its input is left in build-hardened/fuzz/<target>/.
#
#   utils/check-hardened.sh              build, test, fuzz
#   utils/check-hardened.sh --no-fuzz    build, test
#   utils/check-hardened.sh --fuzz-only  build the fuzz targets, fuzz
#   FUZZ_SECONDS=600 utils/check-hardened.sh --fuzz-only
set -euo pipefail
cd "$(dirname "$0")/.."

mode=all
case "${1:-}" in
  "") ;;
  --no-fuzz) mode=test ;;
  --fuzz-only) mode=fuzz ;;
  *) echo "usage: $0 [--no-fuzz | --fuzz-only]" >&2; exit 2 ;;
esac
build=build-hardened
fuzz_seconds=${FUZZ_SECONDS:-60}
jobs=$(nproc)

# clang 22 and its sanitizer and libFuzzer runtimes, besides what
# utils/setup.sh installs (LLVM/MLIR 22 and the rest).
source utils/packages.sh
install_missing check-hardened clang-22 libclang-rt-22-dev

# NDEBUG as in the MLIR libraries: assertions change the layout of some LLVM
# classes (llvm::Statistic), so the project cannot enable them alone.
if [ ! -f $build/build.ninja ]; then
  cmake -G Ninja -S . -B $build \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
    -DRINGATTN_SANITIZE=ON -DRINGATTN_FUZZ=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_DIR=/usr/lib/llvm-22/lib/cmake/llvm \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit > /dev/null
fi

fuzzers=(ringattn-ir-fuzzer ringattn-flags-fuzzer ringattn-runtime-fuzzer)
if [ $mode != fuzz ]; then
  # All targets (the fuzz targets included), then the test suite; the lit
  # configuration sets the sanitizers' options (test/lit.cfg.py).
  cmake --build $build -j "$jobs"
  cmake --build $build -j "$jobs" --target check-ringattn
  [ $mode = test ] && exit 0
else
  cmake --build $build -j "$jobs" --target "${fuzzers[@]}"
fi

# Every fuzz target, one after the other, from its seeds and from what
# earlier runs in this tree added to its corpus.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
rm -rf $build/fuzz/seeds
python3 utils/fuzz-seeds.py $build/fuzz/seeds
status=0
for fuzzer in "${fuzzers[@]}"; do
  case $fuzzer in
    ringattn-ir-fuzzer) seeds=ir ;;
    ringattn-flags-fuzzer) seeds=flags ;;
    ringattn-runtime-fuzzer) seeds=api ;;
  esac
  dict=()
  [ -f tools/ringattn-fuzz/$seeds.dict ] && dict=(-dict=tools/ringattn-fuzz/$seeds.dict)
  dir=$build/fuzz/$fuzzer
  mkdir -p $dir/corpus
  start=$SECONDS
  if $build/bin/$fuzzer -max_total_time="$fuzz_seconds" -timeout=10 \
       -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$dir/ \
       "${dict[@]}" $dir/corpus $build/fuzz/seeds/$seeds > $dir/log 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' $dir/log)
    echo "check-hardened: $fuzzer: ${runs:-?} inputs in $((SECONDS - start)) s, no crash"
  else
    tail -n 80 $dir/log
    echo "check-hardened: $fuzzer FAILED (log and input in $dir/)"
    status=1
  fi
done
exit $status
