#!/usr/bin/env bash
# Durability of change sets under kill -9: the server is killed while it applies a 5,000-row
# change set over 20,000 carriers; after each restart either every row is there or none
# (scripts/crash-changeset.py says how it checks).
#
#   scripts/crash-changeset.sh                          # 20 rounds
#   CRASH_ROUNDS=3 scripts/crash-changeset.sh           # the short run in CI
#
# ETOWN_ATLAS_BIN picks the binary (default: a release build, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
exec python3 scripts/crash-changeset.py --bin "$bin" --rounds "${CRASH_ROUNDS:-20}" \
  --rows "${CRASH_ROWS:-5000}" --seed "${CRASH_SEED:-1}"
