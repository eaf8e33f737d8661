#!/usr/bin/env bash
# Change sets at scale: a 10,000-row workbook against 1,000,000 carriers, preview and apply timed,
# and reads measured during the apply against the same reads idle (scripts/changeset-bench.py).
#
#   scripts/changeset-bench.sh                                   # 1,000,000 carriers, 3 runs
#   BENCH_CARRIERS=100000 BENCH_REPEAT=1 scripts/changeset-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
bash scripts/venv.sh
exec target/venv/bin/python3 scripts/changeset-bench.py --bin "$bin" \
  --carriers "${BENCH_CARRIERS:-1000000}" --rows "${BENCH_ROWS:-10000}" --repeat "${BENCH_REPEAT:-3}"
