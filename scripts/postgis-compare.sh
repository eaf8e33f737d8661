#!/usr/bin/env bash
# Side by side with PostGIS (issue 7): loads the same synthetic carriers into a throwaway PostGIS
# cluster (Debian's postgresql + postgis, loopback port, removed on exit) with a GiST index and
# b-tree indexes on the filtered attributes, starts our release server on the same file, runs the
# same queries against both from one client and prints our time divided by PostGIS's per query.
#
#   scripts/postgis-compare.sh                  # 1,000,000 carriers, 15 timed runs per query
#   COUNT=100000 RUNS=30 scripts/postgis-compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${COUNT:-1000000}
RUNS=${RUNS:-15}
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

# The response cache is off: every timed request is computed, as every SQL query is.
echo "response_cache_mb = 0" >"$work/atlas.toml"
start_server "$work/atlas.log" --config "$work/atlas.toml" --data "$SYNTH"
load_ms=$(grep -o '"load_ms":[0-9.]*' "$work/atlas.log" | cut -d: -f2)

echo "PostGIS load (ogr2ogr + indexes + CLUSTER + ANALYZE): ${pg_load_s} s; etown-atlas load: ${load_ms} ms"
"$py" scripts/postgis_compare.py --atlas "http://$addr" --dsn "$dsn" --runs "$RUNS"
