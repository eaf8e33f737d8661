#!/usr/bin/env bash
# Vector tiles side by side with martin (issue 17): the same synthetic carriers served by our
# release server from its in-memory index and by martin 1.14 twice: from a throwaway PostGIS
# cluster (GiST index, clustered) and from the GeoJSON file, every cache off; then the caps check of every tile of
# zooms 0-11 over the data. scripts/tiles_compare.py does the requests and prints JSON lines.
#
#   scripts/tiles-compare.sh                    # 1,000,000 carriers, 3 timed runs per tile
#   COUNT=100000 RUNS=5 scripts/tiles-compare.sh
#
# martin is built from crates.io into target/tools on first use (about fifteen minutes). wrk
# measures throughput on 49 tiles at z14 and at z16 with 8 connections.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
RUNS=${RUNS:-3}
SYNTH=${SYNTH:-target/synth-$COUNT}
PG_PORT=${PG_PORT:-55433}
MARTIN_PORT=${MARTIN_PORT:-53001}
martin=target/tools/bin/martin
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
# The version and features the issue names (newer releases need a newer rustc than 1.95).
[ -x "$martin" ] || cargo install martin@1.14.0 --locked --no-default-features --features geojson,postgres --root target/tools
cargo build --release --quiet --locked
bin=target/release/etown-atlas
[ -f "$SYNTH/spatial-carriers.geojson" ] || "$bin" synth --count "$COUNT" --out "$SYNTH" 2>/dev/null

work=$(mktemp -d /tmp/etown-tiles.XXXXXX)
server_pid=
martin_pid=
source scripts/lib.sh
trap 'kill "$server_pid" "$martin_pid" 2>/dev/null || true; stop_postgis' EXIT
start_postgis "$work" "$PG_PORT"
load_carriers_postgis "$SYNTH/spatial-carriers.geojson"

# martin: the table published as it is (the properties a map styles by) and the GeoJSON file,
# its cache off. Its start-up time (reading the GeoJSON) is reported.
cat >"$work/martin.yaml" <<YAML
listen_addresses: '127.0.0.1:$MARTIN_PORT'
cache_size_mb: 0
postgres:
  connection_string: 'postgresql://postgres@127.0.0.1:$PG_PORT/postgres'
  auto_publish: false
  tables:
    carriers:
      schema: public
      table: carriers
      srid: 4326
      geometry_column: geom
      id_column: id
      geometry_type: POLYGON
      properties:
        name_zh: text
        industry: text
        available_floor_area_m2: int4
        status: text
geojson:
  paths:
    - $PWD/$SYNTH/spatial-carriers.geojson
YAML
t0=$(date +%s.%N)
"$martin" --config "$work/martin.yaml" >"$work/martin.log" 2>&1 &
martin_pid=$!
until curl -sf "http://127.0.0.1:$MARTIN_PORT/catalog" >/dev/null; do
  kill -0 "$martin_pid" 2>/dev/null || { cat "$work/martin.log" >&2; exit 1; }
  sleep 0.2
done
martin_start_s=$(echo "$(date +%s.%N) - $t0" | bc)
martin_rss_mb=$(( $(awk '/VmRSS/ {print $2}' /proc/$martin_pid/status) / 1024 ))
echo "{\"martin_start_s\": $martin_start_s, \"martin_rss_mb\": $martin_rss_mb, \"martin_sources\": $(curl -sf "http://127.0.0.1:$MARTIN_PORT/catalog" | python3 -c 'import json,sys; print(json.dumps(sorted(json.load(sys.stdin)["tiles"])))')}"

# Ours: the tile and response caches off, so every tile is built as martin builds it.
printf 'tile_cache_mb = 0\nresponse_cache_mb = 0\n' >"$work/atlas.toml"
start_server "$work/atlas.log" --config "$work/atlas.toml" --data "$SYNTH"
bbox=$(curl -sf "http://$addr/collections/spatial-carriers" | python3 -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["extent"]["spatial"]["bbox"][0])))')
python3 scripts/tiles_compare.py --atlas "http://$addr" --martin "http://127.0.0.1:$MARTIN_PORT" \
  --martin-geojson spatial-carriers --runs "$RUNS" --bbox "$bbox" --wrk-lists "$work"

# Throughput: wrk walks a list of 49 tiles (7 x 7 around the densest point) at z14 and z16.
cat >"$work/list.lua" <<'LUA'
local paths, i = {}, 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = args[2] .. line end
end
function request()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["Accept-Encoding"] = "gzip"})
end
LUA
for z in 14 16; do
  for side in ours martin; do
    if [ $side = ours ]; then base="http://$addr"; prefix="/collections/spatial-carriers/tiles/WebMercatorQuad/"
      # Row and column swapped (OGC order), and the four properties martin's source has.
      list="$work/z$z.rowcol.txt"
      awk -F/ '{print $1"/"$3"/"$2"?properties=name_zh,industry,available_floor_area_m2,status"}' "$work/z$z.txt" >"$list"
    else base="http://127.0.0.1:$MARTIN_PORT"; prefix="/carriers/"; list="$work/z$z.txt"; fi
    rps=$(wrk -t2 -c8 -d"${WRK_SECONDS:-10}"s -s "$work/list.lua" "$base" -- "$list" "$prefix" | awk '/Requests\/sec/ {print $2}')
    echo "{\"throughput\": \"z$z\", \"side\": \"$side\", \"tiles_per_s\": $rps}"
  done
done
