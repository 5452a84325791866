#!/usr/bin/env bash
# Configures and builds deepfuse in Release into ./build (binary: build/deepfuse).
# Extra arguments go to CMake, e.g. scripts/build.sh -DDEEPFUSE_CUDA=OFF
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build build --parallel "$(nproc)"
