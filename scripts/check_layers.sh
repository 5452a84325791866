#!/usr/bin/env bash
# Layering check (issue 12): every `#include "<module>/..."` in src/<module>/ must name the module
# itself or one below it, and every `#include "deepfuse/<h>"` a public header owned by such a
# module; public headers (include/deepfuse/) include only each other and standard headers.
# The allowed sets come from the configured build (BUILD_DIR/layering.txt, written by
# deepfuse_module() from the DEPS in src/*/CMakeLists.txt), so the rule checked here is the rule
# the per-module include roots enforce at compile time; this script names file, line and rule.
#
# usage: scripts/check_layers.sh [BUILD_DIR [SOURCE_ROOT]]   (defaults: build, the repository)
#        scripts/check_layers.sh --graph [BUILD_DIR]  prints the module graph (docs/ARCHITECTURE.md)
# exit 0: clean; 1: violations (one line each on stderr); 2: bad usage / unconfigured build.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
graph=0
if [ "${1:-}" = --graph ]; then
  graph=1
  shift
fi
build=${1:-$here/build}
root=${2:-$here}
rules=$build/layering.txt
if [ ! -f "$rules" ]; then
  echo "check_layers.sh: $rules not found: expected a build folder configured with cmake" >&2
  exit 2
fi
if [ ! -d "$root/src" ]; then
  echo "check_layers.sh: $root/src not found: expected a deepfuse source tree" >&2
  exit 2
fi

declare -A deps up owner
order=()
while read -r kind a b c e; do
  case $kind in
    module)
      d=${b#deps:}; u=${c#header_only_up:}; x=${e#direct:}
      deps[$a]=" ${d//;/ } "; up[$a]=" ${u//;/ } "; order+=("$a")
      if [ $graph = 1 ]; then
        line=$(printf '%-10s -> %s' "$a" "${x//;/, }")
        [ -n "$u" ] && line="$line  (+ headers of ${u//;/, }: the one allowed upward edge)"
        echo "$line" | sed 's/ *$//'
      fi
      ;;
    api) owner[$a]=$b ;;
  esac
done < <(grep -v '^#' "$rules")
if [ $graph = 1 ]; then
  for m in "${order[@]}"; do
    hs=$(for h in "${!owner[@]}"; do [ "${owner[$h]}" = "$m" ] && echo "$h"; done | sort | tr '\n' ' ')
    if [ -n "$hs" ]; then printf '%-10s public: %s\n' "$m" "${hs% }"; fi
  done
  exit 0
fi

violations=0
fail() {
  echo "$1" >&2
  violations=$((violations + 1))
}

# src/<module>/: quoted includes of another module folder or of a public header.
for mod in "${!deps[@]}"; do
  [ -d "$root/src/$mod" ] || continue
  allowed="$mod${deps[$mod]}"
  below=$(echo ${deps[$mod]})
  below=${below:-nothing}
  while IFS=: read -r file line text; do
    inc=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/' <<<"$text")
    top=${inc%%/*}
    [ "$top" != "$inc" ] || continue  # same-folder include ("foo.h")
    rel=${file#"$root"/}
    if [ "$top" = deepfuse ]; then
      h=${inc#deepfuse/}
      o=${owner[$h]:-}
      if [ -z "$o" ]; then
        [ -f "$root/include/$inc" ] || continue
        fail "$rel:$line: #include \"$inc\": no module owns this public header (add it to an API list)"
      elif [[ " $allowed " != *" $o "* ]]; then
        fail "$rel:$line: #include \"$inc\": upward include: $inc belongs to module $o, and $mod may use only itself and the modules below it: $below (DEPS in src/$mod/CMakeLists.txt)"
      fi
    elif [ -d "$root/src/$top" ]; then
      if [[ " $allowed " != *" $top "* && "${up[$mod]}" != *" $top "* ]]; then
        fail "$rel:$line: #include \"$inc\": upward include: $mod may include only itself and the modules below it: $below (DEPS in src/$mod/CMakeLists.txt), not $top"
      fi
    fi
  done < <(grep -rnE --include='*.h' --include='*.cpp' --include='*.cu' --include='*.cuh' \
             '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$root/src/$mod")
done

# include/deepfuse/: the public API compiles with -I include alone and leaks nothing.
if [ -d "$root/include/deepfuse" ]; then
  while IFS=: read -r file line text; do
    rel=${file#"$root"/}
    if [[ $text =~ \"([^\"]+)\" ]]; then
      inc=${BASH_REMATCH[1]}
      if [[ $inc != deepfuse/* ]]; then
        fail "$rel:$line: #include \"$inc\": a public header may include only deepfuse/ headers and the standard library"
        continue
      fi
      me=${owner[$(basename "$file")]:-}
      o=${owner[${inc#deepfuse/}]:-}
      if [ -n "$me" ] && [ -n "$o" ] && [ "$o" != "$me" ] && [[ "${deps[$me]}" != *" $o "* ]]; then
        fail "$rel:$line: #include \"$inc\": upward include: $(basename "$file") belongs to $me, $inc to $o, which is not below it"
      fi
    elif [[ $text =~ \<([^\>]+)\> ]]; then
      inc=${BASH_REMATCH[1]}
      # Standard headers have neither a folder nor an extension (<vector>, <cstdint>).
      if [[ $inc == */* || $inc == *.* ]]; then
        fail "$rel:$line: #include <$inc>: a public header may include only deepfuse/ headers and the standard library (third-party headers stay in src/)"
      fi
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include' "$root"/include/deepfuse/*.h /dev/null)
fi

if [ "$violations" -gt 0 ]; then
  echo "check_layers.sh: $violations layering violation(s); the graph is in docs/ARCHITECTURE.md" >&2
  exit 1
fi
echo "check_layers.sh: OK (${#deps[@]} modules, ${#owner[@]} public headers)"
