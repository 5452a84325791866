#!/usr/bin/env bash
# Builds deepfuse (Release) and runs the main job on the embedded default model, stories260K
# (assets/models/stories260K, MIT), so the repository works on its own.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
MODEL=assets/models/stories260K
if build/deepfuse --help 2>/dev/null | grep -q '^  generate'; then
  exec build/deepfuse generate --model "$MODEL" --prompt "Once upon a time" --max-new-tokens 64 "$@"
fi
exec build/deepfuse inspect --model "$MODEL" "$@"
