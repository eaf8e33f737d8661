#!/usr/bin/env bash
# Side by side with PostGIS (issue 7): loads the same synthetic carriers into a throwaway PostGIS
# cluster (Debian's postgresql + postgis, loopback port, removed on exit) with a GiST index and
# b-tree indexes on the filtered attributes, starts our release server on the same file, runs the
# same queries against both from one client and prints our time divided by PostGIS's per query.
#
# Then (THROUGHPUT seconds per query, 0 to skip) requests per second with 8 clients on each side:
# wrk against ours, pgbench against PostGIS, PostGIS both counting the matches as our pages do and
# as a PostGIS user would page (LIMIT, no count); and our small answers against two static
# ceilings.
#
#   scripts/postgis-compare.sh                  # 1,000,000 carriers, 15 timed runs per query
#   COUNT=100000 RUNS=30 THROUGHPUT=5 scripts/postgis-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000000}
RUNS=${RUNS:-15}
THROUGHPUT=${THROUGHPUT:-10}
SYNTH=${SYNTH:-target/synth-$COUNT}
PG_PORT=${PG_PORT:-55432}

# psycopg in a venv of its own (Debian's Python refuses pip installs, PEP 668).
py=target/venv-bench/bin/python3
[ -x "$py" ] || python3 -m venv target/venv-bench
"$py" -c 'import psycopg' 2>/dev/null || target/venv-bench/bin/pip install -q 'psycopg[binary]==3.2.13'
cargo build --release --quiet
bin=target/release/etown-atlas
[ -f "$SYNTH/spatial-carriers.geojson" ] || "$bin" synth --count "$COUNT" --out "$SYNTH" 2>/dev/null

work=$(mktemp -d /tmp/etown-postgis.XXXXXX)
server_pid=
source scripts/lib.sh
trap 'kill "$server_pid" 2>/dev/null || true; stop_postgis' EXIT
start_postgis "$work" "$PG_PORT"
start_load=$(date +%s.%N)
load_carriers_postgis "$SYNTH/spatial-carriers.geojson"
pg_load_s=$(echo "$(date +%s.%N) - $start_load" | bc)

# The response and count caches are off: every timed request is computed and counted, as every
# SQL query is.
printf 'response_cache_mb = 0\ncount_cache_entries = 0\n' >"$work/atlas.toml"
start_server "$work/atlas.log" --config "$work/atlas.toml" --data "$SYNTH"
load_ms=$(grep -o '"load_ms":[0-9.]*' "$work/atlas.log" | cut -d: -f2)

echo "PostGIS load (ogr2ogr + indexes + CLUSTER + ANALYZE): ${pg_load_s} s; etown-atlas load: ${load_ms} ms"
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
"$py" scripts/postgis_compare.py --atlas "http://$addr" --dsn "$dsn" --runs "$RUNS" \
  --throughput "$THROUGHPUT" --pgbench "$pg_bin/pgbench" --static /vendor/maplibre-gl/maplibre-gl.css
