#!/usr/bin/env bash
# Runs a Node reference script of this folder (make_fixtures.js, bench_hf.js) after installing
# its npm dependencies exactly as package-lock.json pins them (`npm ci`; node_modules/ is not
# committed). Reinstalls when package-lock.json is newer than the installed tree.
# usage: tools/tokenizer_refs/run.sh make_fixtures.js [ARGS...]
#        tools/tokenizer_refs/run.sh --install-only
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "tools/tokenizer_refs/run.sh: node and npm are required (apt-get install nodejs npm)" >&2
  exit 2
fi
if [ $# -lt 1 ]; then
  echo "tools/tokenizer_refs/run.sh: expected a script name (make_fixtures.js, bench_hf.js) or --install-only" >&2
  exit 2
fi
stamp=node_modules/.package-lock.json  # written by npm ci
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
[ "$1" = --install-only ] && exit 0
script=$1
shift
if [ ! -f "$script" ]; then
  echo "tools/tokenizer_refs/run.sh: no script '$script' here (expected make_fixtures.js or bench_hf.js)" >&2
  exit 2
fi
exec node "$script" "$@"
