#!/usr/bin/env bash
# Runs every test of etown-atlas. On a fresh Debian machine it first installs what the tests
# drive as real clients: gdal-bin (GDAL's OGC API driver), OWSLib (PyPI), Debian's chromium (the
# browser tests, driven by playwright-core from npm) and a small CJK font for readable screenshots;
# schemathesis (PyPI, in a venv under target/) and cargo-fuzz are installed by their scripts.
#
#     scripts/test.sh
#
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/wqy ] || missing+=(fonts-wqy-microhei)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# OWSLib, a real OGC API client, for tests/socket.rs.
python3 -c "import owslib" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check "owslib==0.35.0"

# A clean build never reuses incremental data, and it costs disk that CI machines may not have.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
echo "== disk: $(df -h . | awk 'NR==2 {print $4 " free of " $2}')"

echo "== the committed geodata is what the generator makes"
python3 tools/generate_geodata.py --check

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "== Rust tests (in-process, real sockets, GDAL, the OGC CQL2 suite, property tests)"
cargo test --locked --all-targets

echo "== web map tests (node unit tests; headless Chromium end to end)"
(cd e2e && npm ci --no-audit --no-fund --silent && npm test)

echo "== hardening: schemathesis against /api (bounded), a short fuzz run of every target"
ST_EXAMPLES=20 ST_MAX_TIME=90 scripts/schemathesis.sh
FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh
