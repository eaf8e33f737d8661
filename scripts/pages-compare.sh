#!/usr/bin/env bash
# This build against an earlier one, side by side in one run (issue 34): both release servers
# on the same synthetic carriers, response and count caches off, started in turn (ROUNDS
# times, alternating), each measured with wrk (2 threads, 8 connections, DURATION seconds per
# request) on the attribute page, group-by over everything, the smallest JSON answer and a
# static file of about a page's size.
#
#   scripts/pages-compare.sh                       # against ab066f5 (before the replicas work)
#   BASE=d1a908d COUNT=100000 scripts/pages-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${BASE:-ab066f5}
COUNT=${COUNT:-1000000}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-6}
SYNTH=${SYNTH:-target/synth-$COUNT}

command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

# The earlier build, from a worktree into this target directory (its dependencies are built
# already), copied aside; then this build again. BASE_BIN skips it.
work=$(mktemp -d /tmp/etown-pages.XXXXXX)
server_pid=
cleanup() {
  kill "$server_pid" 2>/dev/null || true
  git worktree remove --force "$work/base" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
base_bin=${BASE_BIN:-}
if [ -z "$base_bin" ]; then
  git worktree add -q "$work/base" "$BASE"
  (repo=$PWD && cd "$work/base" && CARGO_TARGET_DIR="$repo/target" cargo build --release --quiet)
  cp target/release/etown-atlas "$work/base-bin"
  base_bin="$work/base-bin"
fi
cargo build --release --quiet
[ -f "$SYNTH/spatial-carriers.geojson" ] || target/release/etown-atlas synth --count "$COUNT" --out "$SYNTH" 2>/dev/null

printf 'response_cache_mb = 0\ncount_cache_entries = 0\n' >"$work/atlas.toml"
# The cheap answers first: a slow one's requests still in flight when wrk stops would weigh on
# the next.
paths=(
  "/conformance"
  "/vendor/maplibre-gl/maplibre-gl.css"
  "/collections/spatial-carriers/items?filter=industry%3D%27future_health%27%20AND%20available_floor_area_m2%3E%3D3000&limit=100"
  "/collections/spatial-carriers/stats?group-by=industry"
)
source scripts/lib.sh
for round in $(seq 1 "$ROUNDS"); do
  for which in base this; do
    bin=$([ "$which" = base ] && echo "$base_bin" || echo target/release/etown-atlas)
    start_server "$work/$which.log" --config "$work/atlas.toml" --data "$SYNTH"
    sleep 8 # the name indexes build in the background at start
    for p in "${paths[@]}"; do
      curl -sf -o /dev/null "http://$addr$p"
      size=$(curl -sf "http://$addr$p" | wc -c)
      rps=$(wrk -t2 -c8 -d"${DURATION}s" "http://$addr$p" | awk '/Requests\/sec/ {print $2}')
      printf 'round %s  %-4s  %8s req/s  %7s bytes  %s\n' "$round" "$which" "$rps" "$size" "${p:0:70}"
    done
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  done
done
