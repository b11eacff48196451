#!/usr/bin/env bash
# Installs what is needed, builds build/, generates a demo catalog of real
# image files and runs imgbackfill over it end to end: migrate, import,
# a dry run, the backfill itself, the worker draining the queue (local
# provider: offline), a pHash by hand, and status with full coverage.
#
# Environment: DEMO_DIR (default ./demo-output in the repository) is wiped
# and rewritten; JOBS sets build parallelism; PYTHON the interpreter that
# has Pillow (default /usr/bin/python3, Debian's, where python3-pil lives).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
demo_dir="${DEMO_DIR:-$root/demo-output}"
# Resolve DEMO_DIR against the caller's directory before moving to the root.
[[ "$demo_dir" = /* ]] || demo_dir="$PWD/$demo_dir"
python="${PYTHON:-/usr/bin/python3}"
cd "$root"

phase() { printf '\n==> %s\n' "$1"; }
show() {
  echo "+ $*"
  "$@"
}

phase "install dependencies"
bash scripts/install-deps.sh

phase "build build/"
bash scripts/build.sh build

# Only wipe a directory this script made (or an empty one): DEMO_DIR may be
# set to something precious by mistake.
marker=".imgbackfill-demo"
if [[ -d "$demo_dir" && -n "$(ls -A "$demo_dir")" && ! -e "$demo_dir/$marker" ]]; then
  echo "demo: $demo_dir exists and was not made by this script; refusing to wipe it." >&2
  echo "demo: set DEMO_DIR to a new directory, or remove it yourself." >&2
  exit 1
fi
rm -rf "$demo_dir"
mkdir -p "$demo_dir"
touch "$demo_dir/$marker"

phase "demo catalog in $demo_dir"
# Show paths relative to the repository when they are inside it.
dir="${demo_dir#"$root"/}"
db="$dir/catalog.db"
export PATH="$root/build:$PATH"

show "$python" scripts/make_demo_catalog.py "$dir"
show imgbackfill migrate --db "$db"
show imgbackfill import --db "$db" "$dir/manifest.csv"
show imgbackfill run --db "$db" --dry-run
show imgbackfill run --db "$db"
show imgbackfill work --db "$db" --until-empty
show imgbackfill hash "$dir/images/products/p1001-main-002.jpg"
show imgbackfill status --db "$db"

phase "done: the catalog, its images and catalog.db are in $demo_dir"
