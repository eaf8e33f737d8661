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

need_apt=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need_apt+=(postgis)
command -v ogr2ogr >/dev/null || need_apt+=(gdal-bin)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
python3 -c 'import psycopg' 2>/dev/null || python3 -m pip install -q 'psycopg[binary]==3.2.13'

pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
cargo build --release --quiet
bin=target/release/etown-atlas
[ -f "$SYNTH/spatial-carriers.geojson" ] || "$bin" synth --count "$COUNT" --out "$SYNTH" 2>/dev/null

work=$(mktemp -d /tmp/etown-postgis.XXXXXX)
chown postgres "$work"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# PostgreSQL refuses to run as root: the cluster belongs to the postgres user, trust auth on
# loopback only, settings sized for this machine (documented in BENCHMARKS.md).
runuser -u postgres -- "$pg_bin/initdb" -D "$work/data" -U postgres --auth=trust -E UTF8 >/dev/null
runuser -u postgres -- "$pg_bin/pg_ctl" -D "$work/data" -l "$work/pg.log" -w -o \
  "-p $PG_PORT -k $work -c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c work_mem=64MB \
   -c effective_cache_size=8GB -c max_parallel_workers_per_gather=2 -c fsync=off" start >/dev/null
dsn="host=127.0.0.1 port=$PG_PORT user=postgres dbname=postgres"
psql() { "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 "$dsn" "$@"; }
psql -c 'CREATE EXTENSION postgis'

start_load=$(date +%s.%N)
ogr2ogr -f PostgreSQL "PG:$dsn" "$SYNTH/spatial-carriers.geojson" -nln carriers \
  -lco GEOMETRY_NAME=geom -lco FID=id -lco SPATIAL_INDEX=GIST -nlt POLYGON --config PG_USE_COPY YES
psql -c 'CREATE INDEX ON carriers (industry)' -c 'CREATE INDEX ON carriers (available_floor_area_m2)' \
  -c 'CLUSTER carriers USING carriers_geom_geom_idx' -c 'VACUUM ANALYZE carriers'
pg_load_s=$(echo "$(date +%s.%N) - $start_load" | bc)

# The response cache is off: every timed request is computed, as every SQL query is.
echo "response_cache_mb = 0" >"$work/atlas.toml"
source scripts/lib.sh
start_server "$work/atlas.log" --config "$work/atlas.toml" --data "$SYNTH"
load_ms=$(grep -o '"load_ms":[0-9.]*' "$work/atlas.log" | cut -d: -f2)

echo "PostGIS load (ogr2ogr + indexes + CLUSTER + ANALYZE): ${pg_load_s} s; etown-atlas load: ${load_ms} ms"
python3 scripts/postgis_compare.py --atlas "http://$addr" --dsn "$dsn" --runs "$RUNS"
