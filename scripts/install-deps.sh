#!/usr/bin/env bash
# Installs the Debian 12 packages that building, testing, benchmarking and
# the demo need. Does nothing (and needs no network) when they are all
# installed already, so every other script can call it first.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config
  # libraries the code links against
  libsqlitecpp-dev libsqlite3-dev libpqxx-dev libcli11-dev libspdlog-dev libfmt-dev
  nlohmann-json3-dev libvips-dev libcurl4-openssl-dev
  # tests: Catch2, a real PostgreSQL server for the backend suite, the sqlite3 shell
  catch2 postgresql sqlite3
  # HTTPS to the hosted model providers
  ca-certificates
  # the demo catalog generator
  python3 python3-pil python3-numpy
  # the pHash benchmark's Python reference (imagehash's definition with scipy's DCT)
  python3-scipy
)

missing=()
for package in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
  if [[ "$status" != "installed" ]]; then
    missing+=("$package")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages are installed"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
if [[ "$(id -u)" != "0" ]]; then
  echo "install-deps: installing packages needs root. Run as root:" >&2
  echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  echo "or run this script again as root: $0" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
