#!/usr/bin/env bash
# Durability under kill -9: writers create, patch and delete carriers while the server is killed
# at a random instant, again and again; after each restart every acknowledged edit must be there,
# nothing no one sent, and no edit half-applied (scripts/crash.py says how it checks).
#
#   scripts/crash.sh                        # 50 rounds, 16 writers
#   CRASH_ROUNDS=3 scripts/crash.sh         # the short run in CI
#
# ETOWN_ATLAS_BIN picks the binary (default: a release build, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
exec python3 scripts/crash.py --bin "$bin" --rounds "${CRASH_ROUNDS:-50}" \
  --writers "${CRASH_WRITERS:-16}" --seed "${CRASH_SEED:-1}"
