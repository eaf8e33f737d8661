#!/usr/bin/env bash
# The as-of replay test at scale: 100,000 carriers, 3,000 edits in nine waves, ten moments, each
# compared with an independent replay of the change log (tests/it/as_of.rs). CI runs it at
# 10,000 carriers.
#
#   scripts/as-of-long.sh                              # 100,000 carriers
#   ETOWN_ATLAS_AS_OF_CARRIERS=1000000 scripts/as-of-long.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export ETOWN_ATLAS_AS_OF_CARRIERS=${ETOWN_ATLAS_AS_OF_CARRIERS:-100000}
exec cargo test --release --locked --test it -- --exact as_of::many_carriers_after_many_edits_as_of_ten_moments --nocapture
