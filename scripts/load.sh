#!/usr/bin/env bash
# Load test: starts the release server itself on loopback (the shipped data, and N synthetic
# carriers), runs wrk against each endpoint for a bounded time, prints requests/s, p50 and p99
# and each throughput as a ratio to a static file served in the same run (the ceiling), then
# stops the servers.
#
#   scripts/load.sh                 # 10 s per endpoint, 1,000,000 synthetic carriers
#   DURATION=30s COUNT=100000 CONNECTIONS=64 scripts/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
COUNT=${COUNT:-1000000}
SYNTH=${SYNTH:-target/synth-$COUNT}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/etown-atlas
[ -f "$SYNTH/spatial-carriers.geojson" ] || "$bin" synth --count "$COUNT" --out "$SYNTH" 2>/dev/null

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# Starts a server in this shell (not a subshell, so the EXIT trap stops it) and sets $addr.
source scripts/lib.sh
start() { # $1 = log, rest = serve arguments
  start_server "$@"
  pids+=("$server_pid")
}

log_dir=$(mktemp -d)
# Each data set twice: as shipped (the response cache on), and with the cache off, so every
# request is computed; the cached rows measure repeated requests, the others the query itself.
echo "response_cache_mb = 0" >"$log_dir/no-cache.toml"
start "$log_dir/shipped.log"; shipped=$addr
start "$log_dir/shipped-nc.log" --config "$log_dir/no-cache.toml"; shipped_nc=$addr
start "$log_dir/synth.log" --data "$SYNTH"; synth=$addr
start "$log_dir/synth-nc.log" --config "$log_dir/no-cache.toml" --data "$SYNTH"; synth_nc=$addr
load_ms=$(grep -o '"load_ms":[0-9.]*' "$log_dir/synth.log" | cut -d: -f2)

# A box around the first synthetic carrier that holds about 100 features.
bbox=$(python3 - "$synth" <<'PY'
import json, sys, urllib.request
base = f"http://{sys.argv[1]}"
f = json.load(urllib.request.urlopen(f"{base}/collections/spatial-carriers/items/1"))
ring = f["geometry"]["coordinates"][0]
x = sum(p[0] for p in ring[:-1]) / 4; y = sum(p[1] for p in ring[:-1]) / 4
h = 0.001
while True:
    b = f"{x-h:.6f},{y-h:.6f},{x+h:.6f},{y+h:.6f}"
    n = json.load(urllib.request.urlopen(f"{base}/collections/spatial-carriers/items?limit=1&bbox={b}"))["numberMatched"]
    if n >= 100: print(b); break
    h *= 1.25
PY
)

run() { # $1 = name, $2 = url, $3 = an optional request header
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency ${3:+-H "$3"} "$2")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errs=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  echo "$1|$rps|$p50|$p99|$errs"
}

items=collections/spatial-carriers/items
results=()
results+=("$(run "static file (ceiling)" "http://$shipped/css/app.css")")
results+=("$(run "items, bbox, limit 100 (shipped, 58)" "http://$shipped/$items?bbox=116.45,39.70,116.70,39.86&limit=100")")
results+=("$(run "  the same, cache off" "http://$shipped_nc/$items?bbox=116.45,39.70,116.70,39.86&limit=100")")
# What a browser sends: every request asks for compression, which the cache keeps per encoding.
browser="Accept-Encoding: gzip, deflate, br, zstd"
results+=("$(run "  the same, as a browser asks" "http://$shipped/$items?bbox=116.45,39.70,116.70,39.86&limit=100" "$browser")")
results+=("$(run "  the same, as a browser asks, cache off" "http://$shipped_nc/$items?bbox=116.45,39.70,116.70,39.86&limit=100" "$browser")")
results+=("$(run "items, bbox ~100 features ($COUNT)" "http://$synth/$items?bbox=$bbox&limit=100")")
results+=("$(run "  the same, cache off" "http://$synth_nc/$items?bbox=$bbox&limit=100")")
results+=("$(run "items, filter + bbox ($COUNT), cache off" "http://$synth_nc/$items?bbox=$bbox&limit=100&filter=status%3D%27operating%27")")
results+=("$(run "stats by industry (shipped)" "http://$shipped/collections/spatial-carriers/stats?group-by=industry")")
results+=("$(run "stats by industry, bbox ($COUNT), cache off" "http://$synth_nc/collections/spatial-carriers/stats?group-by=industry&bbox=$bbox")")

ceiling=$(echo "${results[0]}" | cut -d'|' -f2)
echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION on $(nproc) cores; $COUNT synthetic carriers loaded in ${load_ms} ms"
printf '| %-40s | %10s | %8s | %8s | %9s |\n' endpoint "req/s" p50 p99 "vs static"
printf '| %-40s | %10s | %8s | %8s | %9s |\n' "---" "---" "---" "---" "---"
for r in "${results[@]}"; do
  IFS='|' read -r name rps p50 p99 errs <<<"$r"
  ratio=$(python3 -c "print(f'{float($rps)/float($ceiling):.2f}')")
  printf '| %-40s | %10s | %8s | %8s | %9s |%s\n' "$name" "$rps" "$p50" "$p99" "$ratio" "${errs:+ $errs}"
done
