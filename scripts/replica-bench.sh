#!/usr/bin/env bash
# Replicas on one PostgreSQL (issue 19): read throughput of a replica against the embedded
# server on the same data, edits per second through PostgreSQL, and how long replica B takes
# to show what replica A acknowledged while 50 edits/s arrive. Release build, 1,000,000
# synthetic carriers, response caches off on every server (each read computed).
#
#   scripts/replica-bench.sh                              # 1,000,000 carriers, 10 s per case
#   COUNT=100000 SECONDS_PER_CASE=5 ROUNDS=1 scripts/replica-bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
SYNTH=${SYNTH:-target/synth-$COUNT}
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
cargo build --release --quiet --locked
bin=target/release/etown-atlas
if ! grep -q '"editable": true' "$SYNTH/spatial-carriers.meta.json" 2>/dev/null; then
  rm -rf "$SYNTH"
  "$bin" synth --count "$COUNT" --out "$SYNTH" 2>/dev/null
fi
source scripts/lib.sh
work=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null || true; stop_postgis; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
start_postgis "$(mktemp -d)" "$port"
echo "response_cache_mb = 0" >"$work/atlas.toml"
t0=$(date +%s.%N)
"$bin" db import --store "$dsn" --data "$SYNTH" 2>"$work/import.log"
echo "db import of $COUNT carriers: $(echo "$(date +%s.%N) - $t0" | bc) s"
token=$("$bin" token create --store "$dsn" --name bench 2>/dev/null | tail -1)

start_server "$work/embedded.log" --config "$work/atlas.toml" --data "$SYNTH"; pids+=("$server_pid"); embedded=$addr
start_server "$work/a.log" --config "$work/atlas.toml" --store "$dsn"; pids+=("$server_pid"); a=$addr
start_server "$work/b.log" --config "$work/atlas.toml" --store "$dsn"; pids+=("$server_pid"); b=$addr
grep -ho '"load_ms":[0-9.]*' "$work/a.log" | head -1 | sed 's/^/replica start from PostgreSQL, /'
python3 scripts/replica_bench.py --embedded "$embedded" --a "$a" --b "$b" --token "$token" \
  --seconds "${SECONDS_PER_CASE:-10}" --rounds "${ROUNDS:-3}" --rate "${RATE:-50}"
