#!/usr/bin/env bash
# Proves the layering is enforced (ctest label `layering`):
#  1. the compiler: a file compiled with a module's include root cannot include a module above
#     it (core -> models, tokenizer -> engine) but can include one below it (models -> core);
#  2. scripts/check_layers.sh: passes on the real tree, and on a planted tree reports each kind
#     of violation with file, line, include and rule, exiting 1;
#  3. docs/ARCHITECTURE.md's module graph equals the one the build uses.
# usage: layering_test.sh CXX BUILD_DIR SOURCE_DIR
set -uo pipefail
cxx=$1 build=$2 src=$3
roots=$build/include_roots
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
bad() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

compiles() {  # compiles ROOT INCLUDE -> 0 when a TU including INCLUDE compiles with ROOT only
  printf '#include "%s"\n' "$2" > "$tmp/tu.cpp"
  "$cxx" -std=c++20 -fsyntax-only -I "$roots/$1" "$tmp/tu.cpp" > "$tmp/cc.log" 2>&1
}
for m in core tokenizer models engine; do
  [ -d "$roots/$m" ] || { bad "no include root $roots/$m (configure the build first)"; exit 1; }
done
compiles models core/tensor.h || { bad "models cannot include core/tensor.h:"; cat "$tmp/cc.log" >&2; }
compiles engine deepfuse/tokenizer.h || { bad "engine cannot include deepfuse/tokenizer.h"; cat "$tmp/cc.log" >&2; }
if compiles core models/causal_lm.h; then bad "core can include models/causal_lm.h (upward)"; fi
grep -q "models/causal_lm.h" "$tmp/cc.log" || bad "compiler error does not name models/causal_lm.h"
if compiles tokenizer engine/sampler.h; then bad "tokenizer can include engine/sampler.h (upward)"; fi
if compiles tokenizer deepfuse/generation.h; then bad "tokenizer can include deepfuse/generation.h (engine's API)"; fi

"$src/scripts/check_layers.sh" "$build" "$src" > "$tmp/real.log" 2>&1 || {
  bad "check_layers.sh fails on the real tree:"; cat "$tmp/real.log" >&2; }

# docs/ARCHITECTURE.md shows the graph as it is.
"$src/scripts/check_layers.sh" --graph "$build" > "$tmp/graph.txt"
sed -n '/<!-- module-graph:begin -->/,/<!-- module-graph:end -->/p' "$src/docs/ARCHITECTURE.md" \
  | sed '1,2d;$d' | sed '$d' > "$tmp/doc_graph.txt"
if ! diff -u "$tmp/doc_graph.txt" "$tmp/graph.txt" > "$tmp/graph.diff"; then
  bad "docs/ARCHITECTURE.md module graph is stale (update it from scripts/check_layers.sh --graph):"
  cat "$tmp/graph.diff" >&2
fi

# A planted tree: one violation of each kind.
t=$tmp/tree
mkdir -p "$t/src/core" "$t/src/models" "$t/src/tokenizer" "$t/src/engine" "$t/include/deepfuse"
printf '#include "core/tensor.h"\n#include "models/causal_lm.h"\n' > "$t/src/core/up.h"
printf '// fine\n#include "tokenizer/models.h"\n#include "deepfuse/generation.h"\n' > "$t/src/tokenizer/up.cpp"
printf '#include <vector>\n#include <nlohmann/json.hpp>\n#include "core/dtype.h"\n' > "$t/include/deepfuse/tensor.h"
"$src/scripts/check_layers.sh" "$build" "$t" > "$tmp/planted.log" 2>&1
rc=$?
[ "$rc" = 1 ] || bad "check_layers.sh exit $rc on a planted tree, expected 1"
expect() { grep -qF -- "$1" "$tmp/planted.log" || bad "check_layers.sh output lacks: $1"; }
expect 'src/core/up.h:2: #include "models/causal_lm.h": upward include: core may include only itself'
expect 'src/tokenizer/up.cpp:3: #include "deepfuse/generation.h": upward include: deepfuse/generation.h belongs to module engine'
expect 'include/deepfuse/tensor.h:2: #include <nlohmann/json.hpp>: a public header may include only'
expect 'include/deepfuse/tensor.h:3: #include "core/dtype.h": a public header may include only'
expect 'check_layers.sh: 4 layering violation(s)'
if grep -q 'up.h:1\|up.cpp:2\|tensor.h:1' "$tmp/planted.log"; then bad "allowed includes reported:"; fi
[ "$failures" = 0 ] || { echo "--- check_layers.sh on the planted tree:" >&2; cat "$tmp/planted.log" >&2; exit 1; }
echo "layering_test: OK"
