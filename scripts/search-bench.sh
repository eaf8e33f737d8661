#!/usr/bin/env bash
# Name search at scale: what a person typing into the web map's search box costs the server
# over 1,000,000 carriers (scripts/search-bench.py). The response cache is off.
#
#   scripts/search-bench.sh                          # 1,000,000 carriers
#   BENCH_CARRIERS=100000 scripts/search-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
bash scripts/venv.sh
exec target/venv/bin/python3 scripts/search-bench.py --bin "$bin" \
  --carriers "${BENCH_CARRIERS:-1000000}" --rounds "${BENCH_ROUNDS:-20}"
