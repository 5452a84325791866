#!/usr/bin/env bash
# Builds the concurrency tests with ThreadSanitizer into build-tsan/ and runs them: two
# generations and knowledge-base searches on shared objects from three threads
# (tests/concurrency/), the thread pool's own tests, and the serving engine's stress test (200
# random requests from four client threads with random cancels and arrival times) and cancel
# tests. Any data race fails the script.
#
# Only the targets these tests need are built (test_concurrency links the library modules,
# test_core the core one: about 115 objects), through ccache when it is installed, so a warm
# cache makes reruns quick. Usage: scripts/tsan_check.sh [extra gtest args]
#
# oneDNN is left out of this build: it runs on OpenMP (libgomp), whose threads TSan cannot see
# into, so it would report races that are not ours (and these tests never reach its row
# threshold). FAISS also uses OpenMP: OMP_NUM_THREADS=1 keeps it on the calling thread (no
# libgomp threads to misreport). scripts/tsan.supp lists what is suppressed and why.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
if command -v ccache >/dev/null 2>&1; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
# -O1 with line tables only: compiles faster than -O2 -g and still gives file:line in reports;
# assertions stay on.
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1" \
  -DDEEPFUSE_TSAN=ON -DDEEPFUSE_BUILD_TESTS=ON -DDEEPFUSE_CUDA=OFF -DDEEPFUSE_ONEDNN=OFF \
  "${launcher[@]}" >/dev/null
ninja -C build-tsan -j "$(nproc)" test_concurrency test_core test_engine

export OMP_NUM_THREADS=1
export TSAN_OPTIONS="halt_on_error=1 abort_on_error=0 exitcode=66 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp ${TSAN_OPTIONS:-}"
# TSan's shadow memory needs the classic address-space layout; kernels with high mmap
# randomisation (vm.mmap_rnd_bits > 28) make it abort at start-up, so run without ASLR.
run=()
if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R true 2>/dev/null; then
  run=(setarch "$(uname -m)" -R)
fi
"${run[@]}" build-tsan/tests/test_concurrency "$@"
"${run[@]}" build-tsan/tests/test_core --gtest_filter='ThreadPool*' "$@"
"${run[@]}" build-tsan/tests/test_engine \
  --gtest_filter='Engine.Stress*:Engine.Cancel*:Engine.DestructorCancels*:EngineRun.*' "$@"
echo "tsan_check: no data race reported"
