#!/usr/bin/env bash
# A 10,000-vertex park outline over 100,000 synthetic carriers: another editor's PATCH answers
# within 2 s meanwhile, the zones agree with an independent test, and the restart answers
# within 10 s (issue 25; scripts/zone_edit.py says how it checks).
#
#   scripts/zone-edit.sh                                  # 100,000 carriers, 10,000 vertices
#   ZONE_EDIT_COUNT=300000 scripts/zone-edit.sh           # the scale of the hostile probe
#
# ETOWN_ATLAS_BIN picks the binary (default: a release build, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
exec python3 scripts/zone_edit.py --bin "$bin" --count "${ZONE_EDIT_COUNT:-100000}" \
  --vertices "${ZONE_EDIT_VERTICES:-10000}"
