#!/usr/bin/env bash
# Edits under load (issue 15): PATCH throughput and latency with 1 and 16 writers, bbox-page
# reads idle and while 50 edits/s arrive, and the restart time with the edits in the state
# store against a restart without one. Release build, 1,000,000 synthetic carriers, response
# cache off (every read computed).
#
#   scripts/edit-bench.sh                      # 1,000,000 carriers, 10 s per case
#   COUNT=100000 SECONDS_PER_CASE=5 scripts/edit-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
SYNTH=${SYNTH:-target/synth-$COUNT}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release --quiet --locked
bin=target/release/etown-atlas
# A synth directory from before carriers were editable lacks "editable": make it again.
if ! grep -q '"editable": true' "$SYNTH/spatial-carriers.meta.json" 2>/dev/null; then
  rm -rf "$SYNTH"
  "$bin" synth --count "$COUNT" --out "$SYNTH" 2>/dev/null
fi
work=$(mktemp -d)
server_pid=
trap 'kill -9 $server_pid 2>/dev/null || true; rm -rf "$work"' EXIT
echo "response_cache_mb = 0" >"$work/atlas.toml"
token=$("$bin" token create --state "$work/state" --name bench 2>/dev/null | tail -1)
source scripts/lib.sh

start_server "$work/atlas.log" --config "$work/atlas.toml" --data "$SYNTH" --state "$work/state"
python3 scripts/edit_bench.py --addr "$addr" --token "$token" --seconds "${SECONDS_PER_CASE:-10}"
edits=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from changes').fetchone()[0])" "$work/state/state.sqlite")
kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true

# Restart: from the process start to the first /health answer, with and without the state store.
restart() {
  local t0; t0=$(date +%s.%N)
  start_server "$work/restart.log" --config "$work/atlas.toml" --data "$SYNTH" "$@"
  until curl -sf "http://$addr/health" >/dev/null; do sleep 0.05; done
  echo "$(date +%s.%N) - $t0" | bc
  kill -9 "$server_pid"; wait "$server_pid" 2>/dev/null || true
  rm -f "$work/restart.log"
}
with=$(restart --state "$work/state")
without=$(restart)
echo "{\"case\": \"restart to /health\", \"changes_in_store\": \"$edits\", \"with_state_s\": $with, \"without_state_s\": $without}"
