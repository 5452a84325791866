#!/usr/bin/env bash
# The installed package works for a user (ctest label `install`): `cmake --install` into a
# temporary prefix, then examples/generate is configured with find_package(deepfuse) against
# that prefix only, built, and run on the embedded model assets/models/stories260K. Its greedy
# text must appear in what the built `deepfuse generate --greedy` prints for the same prompt,
# and bad input must give exit 2 with one line on stderr.
# usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1 src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
model=$src/assets/models/stories260K
prompt="Once upon a time"

cmake --install "$build" --prefix "$prefix" > "$tmp/install.log"
for f in include/deepfuse/auto_model.h include/deepfuse/error.h lib/cmake/deepfuse/deepfuseConfig.cmake \
         lib/cmake/deepfuse/deepfuseConfigVersion.cmake lib/cmake/deepfuse/deepfuseTargets.cmake; do
  [ -f "$prefix/$f" ] || { echo "FAIL: $f not installed" >&2; exit 1; }
done
for entry in "$prefix"/include/*; do
  [ "$entry" = "$prefix/include/deepfuse" ] || {
    echo "FAIL: the install put $entry beside include/deepfuse/" >&2; exit 1; }
done

# Only the install prefix: the example cannot see the source or build tree.
launcher=()
command -v ccache > /dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/examples/generate" -B "$tmp/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "${launcher[@]}" > "$tmp/configure.log"
cmake --build "$tmp/example" > "$tmp/build.log" || { cat "$tmp/build.log" >&2; exit 1; }
if grep -q -- "-I$src/src\|-I $src/src\|$src/src" "$tmp/example/compile_commands.json" 2>/dev/null; then
  echo "FAIL: the example was compiled with the source tree on its include path" >&2; exit 1
fi

"$tmp/example/generate" "$model" "$prompt" 8 > "$tmp/out.txt"
cat "$tmp/out.txt"
text=$(sed -n 's/^text: //p' "$tmp/out.txt")
[ -n "$text" ] || { echo "FAIL: the example printed no text" >&2; exit 1; }
"$build/deepfuse" generate --model "$model" --prompt "$prompt" --greedy --max-new-tokens 8 > "$tmp/cli.txt"
grep -qF -- "$text" "$tmp/cli.txt" || {
  echo "FAIL: example text '$text' not in deepfuse generate's output:" >&2; cat "$tmp/cli.txt" >&2; exit 1; }

# Bad input: exit 2, one line on stderr.
for args in "$tmp/no_such_model" "$model x 0"; do
  set +e
  # shellcheck disable=SC2086
  "$tmp/example/generate" $args > /dev/null 2> "$tmp/err.txt"
  rc=$?
  set -e
  [ "$rc" = 2 ] || { echo "FAIL: generate $args: exit $rc, expected 2" >&2; exit 1; }
  [ "$(wc -l < "$tmp/err.txt")" = 1 ] || { echo "FAIL: generate $args: stderr is not one line:" >&2; cat "$tmp/err.txt" >&2; exit 1; }
done
echo "install_test: OK"
