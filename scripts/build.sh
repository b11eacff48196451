#!/usr/bin/env bash
# Usage: scripts/build.sh [build-dir] [extra cmake args...]
# Configures the project with Ninja into build-dir (default: build/ in the
# repository) and builds it with $JOBS parallel jobs (default 2).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${1:-$root/build}"
shift $(($# > 0 ? 1 : 0))
jobs="${JOBS:-2}"

generator=(-G Ninja)
cache="$build_dir/CMakeCache.txt"
if [[ -f "$cache" ]] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
  # CMake refuses to switch generators in place; keep the one the directory has.
  echo "build: $build_dir was configured with another generator; keeping it" \
       "(delete the directory to use Ninja)" >&2
  generator=()
fi

cmake -S "$root" -B "$build_dir" "${generator[@]}" "$@"
cmake --build "$build_dir" --parallel "$jobs"
