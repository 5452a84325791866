#!/usr/bin/env bash
# Builds everything (Release, tests on) and runs every check, in this order (issue 12):
#   1. ctest: the unit, golden and CLI suites, the public-header and layering checks (first, so
#      their results always show, whatever fails later);
#   2. fuzz: the committed corpora replayed, then a fixed-seed, fixed-run-count smoke
#      (fuzz/smoke.sh; deterministic, no time-based fuzzing: the long runs are fuzz/run.sh);
#   3. scripts/tsan_check.sh (ThreadSanitizer concurrency test) when it exists;
#   4. the installed package: cmake --install + find_package(deepfuse) example (ctest -L install);
#   5. scripts/check_layers.sh (no upward include, public headers self-contained).
# Every step runs even when an earlier one failed; the script fails if any did, and ends with
# one line per step. Used by .ci/run. Steps can be skipped for local use:
# DEEPFUSE_TEST_SKIP="fuzz tsan" scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
start=$(date +%s)
skip=" ${DEEPFUSE_TEST_SKIP-} "
summary=()
failed=0

step() {  # step NAME COMMAND...: runs it unless skipped, records the outcome and the time
  local name=$1 t0 rc
  t0=$(date +%s)
  shift
  if [[ $skip == *" $name "* ]]; then
    summary+=("$(printf '%-8s SKIPPED (DEEPFUSE_TEST_SKIP)' "$name")")
    return
  fi
  echo "=== scripts/test.sh: $name: $*"
  "$@"
  rc=$?
  local took=$(( $(date +%s) - t0 ))
  if [ $rc -eq 0 ]; then
    summary+=("$(printf '%-8s OK     %5ss' "$name" "$took")")
  else
    summary+=("$(printf '%-8s FAILED %5ss (exit %s)' "$name" "$took" "$rc")")
    failed=1
  fi
}

# The build must succeed for anything else to mean something.
if ! scripts/build.sh -DDEEPFUSE_BUILD_TESTS=ON; then
  echo "scripts/test.sh: FAILED: the build (scripts/build.sh) failed" >&2
  exit 1
fi
echo "scripts/test.sh: built in $(( $(date +%s) - start ))s"

step ctest ctest --test-dir build --output-on-failure --parallel "$(nproc)" --timeout 900 -LE install
step fuzz fuzz/smoke.sh
if [ -x scripts/tsan_check.sh ]; then
  step tsan scripts/tsan_check.sh
else
  summary+=("tsan     SKIPPED (scripts/tsan_check.sh not present)")
fi
step install ctest --test-dir build --output-on-failure -L install
step layers scripts/check_layers.sh build

echo "=== scripts/test.sh: summary ($(( $(date +%s) - start ))s in all)"
printf '  %s\n' "${summary[@]}"
exit $failed
