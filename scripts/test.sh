#!/usr/bin/env bash
# Builds everything (Release, tests on) and runs every test. Used by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh -DDEEPFUSE_BUILD_TESTS=ON
if [ -x fuzz/smoke.sh ]; then fuzz/smoke.sh; fi
cd build
ctest --output-on-failure --parallel "$(nproc)" --timeout 900
