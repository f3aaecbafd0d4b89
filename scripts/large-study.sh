#!/usr/bin/env bash
# large-study.sh [SLICES]: the benchmarks' synthetic CT study
# (../shared/scripts/make-large-study.sh, 512×512, ~263 MB for 500
# slices), made once per slice count in bench-out/large-study/SLICES and
# shared by every bench script; prints that folder (its files are under
# CT/). The generator is deterministic, so a study made earlier is the
# same study. MAKE_LARGE_STUDY names another generator.
set -euo pipefail
cd "$(dirname "$0")/.."
slices=${1:-500}
dir=$PWD/bench-out/large-study/$slices
gen=${MAKE_LARGE_STUDY:-$PWD/../shared/scripts/make-large-study.sh}
if [ ! -f "$dir.ok" ]; then
  echo "generating the ${slices}-slice CT study (once, in $dir) ..." >&2
  rm -rf "$dir"
  mkdir -p "$(dirname "$dir")"
  "$gen" "$dir" "$slices" 512 > "$dir.log"
  touch "$dir.ok"
fi
echo "$dir"
