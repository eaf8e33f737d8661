#!/usr/bin/env bash
# Soak test: starts the release server on loopback (on N synthetic carriers, default 100,000; 0
# for the shipped data), then runs wrk for a long time at 64 connections with a mix of requests
# a map and its users make: items pages by bbox, CQL2 filters (GET and POST), statistics,
# downloads (GeoJSON, FlatGeobuf, GeoPackage, an area export) and the web app's assets.
# Samples the server's resident memory every 10 s and reports requests, status codes, p99, and
# RSS after warm-up and at the end. Fails on any status other than 2xx or a 503 from the cap
# on concurrent expensive requests (shed load with Retry-After, by design), on RSS growth
# beyond 10 % after warm-up, or on a peak RSS above MAX_RSS_MIB (default 1024): a cache that
# fills to gigabytes during the warm-up is flat afterwards, so growth alone would not see it.
#
#   scripts/soak.sh                              # 10 minutes, 64 connections
#   DURATION=60 WARMUP=20 COUNT=0 scripts/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-600}
WARMUP=${WARMUP:-60}
CONNECTIONS=${CONNECTIONS:-64}
COUNT=${COUNT:-100000}
MAX_RSS_MIB=${MAX_RSS_MIB:-1024}

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
cargo build --release --quiet --locked
bin=target/release/etown-atlas
data_args=()
if [ "$COUNT" != 0 ]; then
  synth=target/synth-$COUNT
  [ -f "$synth/spatial-carriers.geojson" ] || "$bin" synth --count "$COUNT" --out "$synth" 2>/dev/null
  data_args=(--data "$synth")
fi

work=$(mktemp -d)
pid=
sampler=
trap 'kill $pid $sampler 2>/dev/null || true; rm -rf "$work"' EXIT
source scripts/lib.sh
start_server "$work/server.log" "${data_args[@]}"
pid=$server_pid

# Boxes of a few hundred metres around the data, found from the data's own extent.
read -r west south east north < <(curl -s "http://$addr/collections/spatial-carriers" |
  python3 -c 'import json,sys; print(*json.load(sys.stdin)["extent"]["spatial"]["bbox"][0])')

cat >"$work/mix.lua" <<LUA
-- Requests in a fixed rotation (each connection starts at its own place), with boxes spread
-- over the data's extent by a fixed linear congruential sequence: reproducible, no hot spot.
local west, south, east, north = $west, $south, $east, $north
local seed = 12345
local function rand()
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
end
local function box(size)
  local x = west + rand() * (east - west - size)
  local y = south + rand() * (north - south - size)
  return string.format("%.5f,%.5f,%.5f,%.5f", x, y, x + size, y + size)
end
local json = {["Content-Type"] = "application/json"}
local makers = {
  function() return wrk.format("GET", "/collections/spatial-carriers/items?limit=100&bbox=" .. box(0.01)) end,
  function() return wrk.format("GET", "/collections/spatial-carriers/items?limit=50&filter=industry%3D%27future_health%27%20AND%20available_floor_area_m2%3E%3D3000&bbox=" .. box(0.05)) end,
  function() return wrk.format("POST", "/collections/spatial-carriers/search", json,
    '{"limit": 100, "filter": {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [' .. box(0.02) .. ']}]}}') end,
  function() return wrk.format("GET", "/collections/spatial-carriers/stats?group-by=industry&bbox=" .. box(0.05)) end,
  function() return wrk.format("GET", "/collections/spatial-carriers/stats?group-by=status") end,
  function() return wrk.format("GET", "/collections/spatial-carriers/export?f=geojson&bbox=" .. box(0.01)) end,
  function() return wrk.format("GET", "/collections/spatial-carriers/export?f=fgb&bbox=" .. box(0.01)) end,
  function() return wrk.format("GET", "/collections/spatial-carriers/export?f=gpkg&bbox=" .. box(0.005)) end,
  function() local b = box(0.01)
    local x0, y0, x1, y1 = b:match("([^,]+),([^,]+),([^,]+),([^,]+)")
    return wrk.format("POST", "/export", json, string.format(
      '{"layers": ["spatial-carriers"], "clip": true, "area": {"type": "Polygon", "coordinates": [[[%s,%s],[%s,%s],[%s,%s],[%s,%s],[%s,%s]]]}}',
      x0, y0, x1, y0, x1, y1, x0, y1, x0, y0)) end,
  function() return wrk.format("GET", "/") end,
  function() return wrk.format("GET", "/js/main.js") end,
  function() return wrk.format("GET", "/css/app.css") end,
  function() return wrk.format("GET", "/vendor/maplibre-gl/maplibre-gl.mjs") end,
  function() return wrk.format("GET", "/collections") end,
}
local threads = {}
local counter = 0
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  counter = id * 7
  seed = 12345 + id
  statuses = {}
end
function request()
  counter = counter + 1
  return makers[(counter % #makers) + 1]()
end
function response(status, headers, body)
  -- A 503 without Retry-After is not load shedding but a failure: count it apart (as 1503).
  if status == 503 and headers["Retry-After"] == nil and headers["retry-after"] == nil then
    status = 1503
  end
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do total[code] = (total[code] or 0) + n end
  end
  for code, n in pairs(total) do io.write(string.format("status %d %d\n", code, n)) end
  io.write(string.format("p50_ms %.2f\np99_ms %.2f\nrequests %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests))
  io.write(string.format("socket_errors %d\n", summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout))
end
LUA

rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "t_s rss_mib" >"$work/rss.txt"
(
  t=0
  while kill -0 "$pid" 2>/dev/null; do
    echo "$t $(( $(rss_kib) / 1024 ))" >>"$work/rss.txt"
    sleep 10
    t=$((t + 10))
  done
) &
sampler=$!

echo "== soak: ${DURATION}s at $CONNECTIONS connections on http://$addr (RSS at start: $(( $(rss_kib) / 1024 )) MiB)"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 30s -s "$work/mix.lua" "http://$addr" >"$work/wrk.txt"
kill "$sampler" 2>/dev/null || true
sampler=
end_rss=$(( $(rss_kib) / 1024 ))
echo "$DURATION $end_rss" >>"$work/rss.txt"

cat "$work/wrk.txt"
echo "RSS over time (MiB):"
awk 'NR > 1 {printf "%s:%s ", $1, $2} END {print ""}' "$work/rss.txt"
python3 - "$work/wrk.txt" "$work/rss.txt" "$WARMUP" "$MAX_RSS_MIB" <<'PY'
import sys
wrk, rss, warmup = open(sys.argv[1]).read().split("\n"), sys.argv[2], int(sys.argv[3])
max_rss = int(sys.argv[4])
statuses = {int(l.split()[1]): int(l.split()[2]) for l in wrk if l.startswith("status ")}
value = lambda key: float(next(l.split()[1] for l in wrk if l.startswith(key + " ")))
samples = [tuple(map(int, l.split())) for l in open(rss).read().split("\n")[1:] if l.strip()]
# Medians of the first and the last minute after warm-up: one 10 s sample catches whatever
# downloads happen to be in flight, a minute's median does not.
import statistics
last_t = samples[-1][0]
after_warmup = statistics.median(m for t, m in samples if warmup <= t <= warmup + 60)
end = statistics.median(m for t, m in samples if t >= max(warmup, last_t - 60))
growth = (end - after_warmup) / after_warmup
bad = {c: n for c, n in statuses.items() if not (200 <= c < 300 or c == 503)}
print(f"requests {int(value('requests'))}, statuses {dict(sorted(statuses.items()))}, "
      f"socket errors {int(value('socket_errors'))}, p50 {value('p50_ms'):.1f} ms, p99 {value('p99_ms'):.1f} ms")
print(f"RSS (median of a minute) after the {warmup} s warm-up {after_warmup} MiB, in the last minute {end} MiB ({growth:+.1%}); "
      f"peak {max(m for _, m in samples)} MiB")
peak = max(m for _, m in samples)
failed = bool(bad) or value("socket_errors") > 0 or abs(growth) > 0.10 or peak > max_rss
print("FAIL" if failed else "PASS", "(errors: any status besides 2xx and 503-with-Retry-After; "
      f"memory: ±10 % after warm-up, peak at most {max_rss} MiB)")
sys.exit(1 if failed else 0)
PY
