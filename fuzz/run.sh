#!/usr/bin/env bash
# Long development fuzz run of one target: fuzz/run.sh NAME [SECONDS] (default 600).
# Needs a fuzz build (fuzz/smoke.sh makes build-fuzz/). Keeps the grown corpus in
# build-fuzz/corpus/NAME/ and reproducers in build-fuzz/fuzz/artifacts/; runs at nice 19 with
# one job because the development machine is shared.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
secs=${2:-600}
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
mkdir -p "$BUILD_DIR/corpus/$name" "$BUILD_DIR/fuzz/artifacts"
dict=()
[ -f "fuzz/$name.dict" ] && dict=(-dict="fuzz/$name.dict")
exec nice -n 19 "$BUILD_DIR/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=10 \
  -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
  -artifact_prefix="$BUILD_DIR/fuzz/artifacts/$name-" "${dict[@]}" \
  "$BUILD_DIR/corpus/$name" "fuzz/corpus/$name"
