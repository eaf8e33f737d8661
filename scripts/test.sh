#!/usr/bin/env bash
# Runs every test of etown-atlas.
#
#     scripts/test.sh
#
# It installs what the tests drive as real clients, so its first run on a fresh Debian 12
# machine needs root (or sudo) and reaches Debian's, PyPI's and npm's registries:
#   - Debian packages: gdal-bin (GDAL's OGC API and PostgreSQL drivers), chromium and a CJK font
#     (the browser tests), poppler-utils (pdftotext reads the printed dossier), PostgreSQL 15 with
#     PostGIS 3 (postgresql-15-postgis-3: each database test starts and removes its own cluster),
#     python3-venv, and nodejs/npm if there is no node;
#   - a Python venv in target/venv with the pinned clients of scripts/requirements-test.txt
#     (OWSLib; openpyxl, which reads back the Excel files the web map writes), never the system
#     Python (Debian refuses pip there, PEP 668);
#   - the npm packages of e2e/ (playwright-core, axe-core), from its lock file;
#   - schemathesis (its own venv under target/) and cargo-fuzz, by their scripts.
# Then: format and lints, the Rust tests, the web map in headless Chromium, and bounded runs of
# schemathesis, the attack replay, the kill -9 durability check, the park-outline edit and the
# fuzzers.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v ogrinfo >/dev/null 2>&1 || missing+=(gdal-bin)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -d /usr/share/fonts/truetype/wqy ] || missing+=(fonts-wqy-microhei)
python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
# A throwaway cluster per PostgreSQL test (tests/it/common/postgres.rs); runuser runs it as postgres.
ls /usr/share/postgresql/15/extension/postgis.control >/dev/null 2>&1 || missing+=(postgresql-15-postgis-3)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== Python clients (target/venv)"
scripts/venv.sh
export ETOWN_ATLAS_PYTHON=$PWD/target/venv/bin/python3

# A clean build never reuses incremental data, and it costs disk that CI machines may not have.
if [ "${CI:-}" = true ]; then export CARGO_INCREMENTAL=0; fi
echo "== disk: $(df -h . | awk 'NR==2 {print $4 " free of " $2}')"

echo "== the committed geodata is what the generator makes"
python3 tools/generate_geodata.py --check

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "== Rust tests (in-process, real sockets, GDAL, OWSLib, the OGC CQL2 suite, property tests)"
cargo test --locked --all-targets

echo "== release build (the browser tests at scale and the hardening runs use it)"
cargo build --release --quiet --locked

echo "== web map tests (node unit tests; headless Chromium end to end, at scale on 200,000 and 1,000,000 carriers)"
(cd e2e && npm ci --no-audit --no-fund --silent && npm test)

echo "== hardening: schemathesis against /api, the attack replay, a short fuzz run of every target"
ST_EXAMPLES=20 ST_MAX_TIME=90 scripts/schemathesis.sh
ATTACK_QUICK=1 ATTACK_COUNT=20000 ETOWN_ATLAS_BIN=target/release/etown-atlas scripts/attack.sh
echo "== durability: kill -9 under 16 writers, three times; every acknowledged edit survives"
CRASH_ROUNDS=3 ETOWN_ATLAS_BIN=target/release/etown-atlas scripts/crash.sh
echo "== durability: kill -9 while a 5,000-row change set applies, three times; all of it or none"
CRASH_ROUNDS=3 ETOWN_ATLAS_BIN=target/release/etown-atlas scripts/crash-changeset.sh
echo "== a 10,000-vertex park outline over 100,000 carriers: edits beside it and the restart stay quick"
ETOWN_ATLAS_BIN=target/release/etown-atlas scripts/zone-edit.sh
FUZZ_SEED=${FUZZ_SEED:-1} FUZZ_SECONDS=${FUZZ_SECONDS:-10} scripts/fuzz.sh
