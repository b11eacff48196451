#!/usr/bin/env bash
# Builds the benchmarks in Release into build-bench/ and runs them all, then
# prints a summary table. Generated catalogs are cached in the data directory
# (default /tmp/imgbackfill-bench; the first run generates about 4 GB there,
# 60 MB of test JPEGs for the pHash benchmark and 4,000 small ones for the
# worker's).
# See docs/benchmarks.md for what each figure means.
#
# Usage: bench/run.sh [--quick] [--data-dir DIR]
#   --quick     small catalogs, to check that everything runs (a minute or two)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build-bench"
data_dir="${IMGBACKFILL_BENCH_DIR:-/tmp/imgbackfill-bench}"
extra=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) extra+=(--quick); shift ;;
    --data-dir) data_dir="$2"; shift 2 ;;
    *) echo "usage: bench/run.sh [--quick] [--data-dir DIR]" >&2; exit 2 ;;
  esac
done

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DIMGBACKFILL_BUILD_TESTS=OFF -DIMGBACKFILL_BUILD_BENCH=ON >/dev/null
ninja -C "$build" -j2

logs="$build/bench-logs"
mkdir -p "$logs" "$data_dir"
rm -f "$logs"/*.txt
started=$SECONDS
{
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  if commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null)"; then
    git -C "$root" diff --quiet HEAD -- src include sql || commit="$commit (src, include or sql modified)"
  else
    commit="unknown (not a git checkout)"
  fi
  echo "commit:  $commit"
  echo "cpus:    $(nproc) x $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "load:    $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min) at start"
  echo "sqlite:  $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || echo '?')"
  echo "libvips: $(pkg-config --modversion vips 2>/dev/null || echo '?')"
  echo "python:  $(/usr/bin/python3 -c 'import sys, PIL, numpy, scipy
print(sys.version.split()[0], "Pillow", PIL.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__)' 2>/dev/null || echo '? (bench_phash needs python3-pil, python3-numpy, python3-scipy)')"
  echo "data:    $data_dir"
} | tee "$logs/machine.txt"

# Cheap ones first; query_plans also generates the 10M catalog the others reuse.
for bench in query_plans start_cost peak_rss enqueue_rate phash worker_throughput; do
  echo
  echo "== bench_$bench"
  "$build/bench/bench_$bench" --data-dir "$data_dir" "${extra[@]}" | tee "$logs/$bench.txt"
done

echo
echo "== summary (load at end: $(cut -d' ' -f1-3 /proc/loadavg); total $((SECONDS - started)) s)"
cat "$logs"/{query_plans,start_cost,peak_rss,enqueue_rate,phash,worker_throughput}.txt |
  awk -F'\t' '$1 == "summary" { printf "%-17s %-66s %s\n", $2, $3, $4 }'
echo "(logs in $logs)"
