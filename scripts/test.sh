#!/usr/bin/env bash
# Runs every test of etown-atlas. On a fresh Debian machine it first installs what the tests
# drive as real clients (gdal-bin for GDAL's OGC API driver). Run from anywhere:
#
#     scripts/test.sh
#
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== the committed geodata is what the generator makes"
python3 tools/generate_geodata.py --check

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "== tests"
cargo test --locked --all-targets
