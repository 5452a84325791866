#!/usr/bin/env bash
# Long fuzz runs of several targets at once on a many-core machine:
#   fuzz/parallel_run.sh SECONDS WORKERS NAME [NAME...]
# Runs every fuzz_NAME from $FUZZ_BIN_DIR (default build-fuzz/fuzz) with WORKERS libFuzzer
# worker processes for SECONDS each, seeds from fuzz/corpus/NAME, grown corpora in a temporary
# folder. Writes $FUZZ_OUT_DIR/summary.txt (per target: executions, coverage, any sanitizer
# report) and, when something was found, $FUZZ_OUT_DIR/artifacts.tar with the reproducers.
# Exit status 1 when any target found something. fuzz/run.sh is the one-target, one-core run.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=$1
workers=$2
shift 2
root=$PWD
bin_dir=$(cd "${FUZZ_BIN_DIR:-build-fuzz/fuzz}" && pwd)
out=${FUZZ_OUT_DIR:-build-fuzz/parallel}
work=$(mktemp -d)
mkdir -p "$out" "$work/artifacts"
for name in "$@"; do
  mkdir -p "$work/$name/corpus"
  dict=()
  [ -f "fuzz/$name.dict" ] && dict=(-dict="$root/fuzz/$name.dict")
  (
    cd "$work/$name"
    "$bin_dir/fuzz_$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
      -malloc_limit_mb=1024 -print_final_stats=1 -jobs="$workers" -workers="$workers" \
      -artifact_prefix="$work/artifacts/$name-" "${dict[@]}" corpus "$root/fuzz/corpus/$name" \
      > main.log 2>&1 || true
  ) &
done
wait
status=0
{
  echo "fuzz/parallel_run.sh: ${secs}s x $workers workers per target, $(nproc) cores"
  for name in "$@"; do
    execs=$(grep -h "stat::number_of_executed_units" "$work/$name"/fuzz-*.log 2>/dev/null |
      awk '{s += $2} END {print s + 0}')
    cov=$(grep -ho "cov: [0-9]*" "$work/$name"/fuzz-*.log 2>/dev/null | awk '{print $2}' |
      sort -n | tail -1)
    units=$(find "$work/$name/corpus" -type f | wc -l)
    echo "$name: executions $execs, max coverage ${cov:-?}, corpus $units files"
    if grep -lE "ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error|deadly signal" \
      "$work/$name"/fuzz-*.log > /dev/null 2>&1 || ls "$work/artifacts/$name"-* > /dev/null 2>&1; then
      status=1
      echo "$name: FINDING"
      # (no `| head`: with pipefail its SIGPIPE would stop the script before the tar below)
      grep -hE -m 3 -A25 "ERROR: |runtime error|deadly signal" "$work/$name"/fuzz-*.log || true
    fi
  done
} > "$out/summary.txt"
if [ -n "$(ls -A "$work/artifacts")" ]; then
  tar -C "$work" -cf "$out/artifacts.tar" artifacts
fi
cat "$out/summary.txt"
rm -rf "$work"
exit $status
