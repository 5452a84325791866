#!/usr/bin/env bash
# CI fuzz smoke run: builds every libFuzzer target with clang + ASan/UBSan in build-fuzz/ and
# runs each for FUZZ_SMOKE_SECONDS (default 15) on its seed corpus in fuzz/corpus/<target>/.
# Fails on any finding (crash, sanitizer report, leak, timeout) and prints the reproducer path.
# Long runs for development: fuzz/run.sh (see docs/DECISIONS.md).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang++ >/dev/null 2>&1 || ! command -v clang >/dev/null 2>&1; then
  echo "fuzz/smoke.sh: SKIPPED: clang/clang++ not found (scripts/install-deps.sh installs clang" \
       "and libclang-rt-14-dev)"
  exit 0
fi

BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${FUZZ_SMOKE_SECONDS:-15}
JOBS=${FUZZ_JOBS:-$(nproc)}
start=$(date +%s)

# -O1 with line tables: the usual libFuzzer trade-off, and a faster sanitizer build.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DDEEPFUSE_FUZZ=ON -DDEEPFUSE_BUILD_TESTS=OFF -DDEEPFUSE_CUDA=OFF >/dev/null
ninja -C "$BUILD_DIR" -j "$JOBS" fuzzers
echo "fuzz/smoke.sh: built in $(( $(date +%s) - start ))s"

artifacts="$BUILD_DIR/fuzz/artifacts"
mkdir -p "$artifacts"
status=0
# FUZZ_SMOKE_SKIP="a b" skips targets with an open, documented finding (reproducer in
# fuzz/findings/, described in docs/BENCHMARKS.md "Fuzzing"); none is open, so the default
# runs everything.
SKIP=${FUZZ_SMOKE_SKIP-}
while read -r name; do
  [ -n "$name" ] || continue
  if [[ " $SKIP " == *" $name "* ]]; then
    echo "fuzz/smoke.sh: fuzz_$name SKIPPED (open finding, see fuzz/findings/)"
    continue
  fi
  bin="$BUILD_DIR/fuzz/fuzz_$name"
  seeds="fuzz/corpus/$name"
  work=$(mktemp -d)
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
  echo "fuzz/smoke.sh: fuzz_$name for ${SECONDS_PER_TARGET}s"
  if ! "$bin" -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -print_final_stats=1 -artifact_prefix="$artifacts/${name}-" \
        "${dict[@]}" "$work" "$seeds" > "$artifacts/$name.log" 2>&1; then
    echo "fuzz/smoke.sh: FINDING in fuzz_$name; reproducer under $artifacts/ (log below)"
    tail -n 60 "$artifacts/$name.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$artifacts/$name.log" | tr '\n' ' '
    echo
  fi
  rm -rf "$work"
done < "$BUILD_DIR/fuzz/targets.txt"
echo "fuzz/smoke.sh: done in $(( $(date +%s) - start ))s, status $status"
exit $status
