#!/usr/bin/env bash
# Deterministic fuzz regression check: runs every libFuzzer target once over each input of its
# committed seed corpus (fuzz/corpus/NAME/*) and each saved reproducer (fuzz/findings/NAME-*),
# with no mutation and no time limit on the whole run, so the result depends only on the code
# and the committed files. Fails, naming the target and the input, on any crash, sanitizer
# report or leak. Needs the fuzz build (fuzz/smoke.sh makes it).
# usage: fuzz/replay.sh [BUILD_DIR]   (default build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${1:-${FUZZ_BUILD_DIR:-build-fuzz}}
targets=$BUILD_DIR/fuzz/targets.txt
if [ ! -f "$targets" ]; then
  echo "fuzz/replay.sh: $targets not found: expected a fuzz build (run fuzz/smoke.sh)" >&2
  exit 2
fi
logs=$BUILD_DIR/fuzz/replay
mkdir -p "$logs"
status=0
while read -r name; do
  [ -n "$name" ] || continue
  inputs=()
  for f in fuzz/corpus/"$name"/* fuzz/findings/"$name"-*; do
    [ -f "$f" ] && inputs+=("$f")
  done
  if [ ${#inputs[@]} -eq 0 ]; then
    echo "fuzz/replay.sh: fuzz_$name has no committed inputs (expected fuzz/corpus/$name/)" >&2
    status=1
    continue
  fi
  # Inputs given as files are executed once each (libFuzzer's reproduce mode). The per-input
  # timeout is generous: a slow input on a loaded CI machine must not fail the run at random.
  if "$BUILD_DIR/fuzz/fuzz_$name" -timeout=120 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
       "${inputs[@]}" > "$logs/$name.log" 2>&1; then
    echo "fuzz/replay.sh: fuzz_$name OK on ${#inputs[@]} inputs"
  else
    failed=$(grep -oE 'Running: [^ ]+' "$logs/$name.log" | tail -n 1 | cut -d' ' -f2)
    echo "fuzz/replay.sh: FAILED fuzz_$name on ${failed:-an input} (log: $logs/$name.log):"
    tail -n 40 "$logs/$name.log"
    status=1
  fi
done < "$targets"
exit $status
