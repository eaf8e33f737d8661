#!/usr/bin/env bash
# asOf at scale: a 100-feature page of 1,000,000 carriers as it was, after 10,000 edits
# (scripts/as-of-bench.py).
#
#   scripts/as-of-bench.sh                                   # 1,000,000 carriers, 10,000 edits
#   BENCH_CARRIERS=100000 BENCH_EDITS=1000 scripts/as-of-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
bash scripts/venv.sh
exec target/venv/bin/python3 scripts/as-of-bench.py --bin "$bin" \
  --carriers "${BENCH_CARRIERS:-1000000}" --edits "${BENCH_EDITS:-10000}"
