# Shared by the benchmark and test scripts; source it after setting $bin (the server binary).

# start_server LOG [serve arguments...]: starts the server on a free loopback port in the
# background and sets $server_pid and $addr (host:port, read from its JSON log). Exits the
# script with the log if the server dies or does not listen within two minutes (a 1M-feature
# load takes about ten seconds).
start_server() {
  local log=$1
  shift
  "$bin" --log-json serve --listen 127.0.0.1:0 "$@" 2>"$log" &
  server_pid=$!
  addr=
  for _ in $(seq 1 600); do
    addr=$(grep -o '"address":"[^"]*"' "$log" | head -1 | cut -d'"' -f4 || true)
    [ -n "$addr" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "server did not start: $(cat "$log")" >&2
  exit 1
}

# start_postgis DIR PORT: a throwaway PostgreSQL + PostGIS cluster in DIR/data on 127.0.0.1:PORT
# (Debian's packages, installed if missing), trust auth on loopback only, settings sized for
# this machine (documented in BENCHMARKS.md). Sets $pg_bin, $dsn and psql(); stop_postgis
# stops it and removes DIR.
start_postgis() {
  pg_work=$1
  local port=$2 need_apt=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
  ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || need_apt+=(postgis)
  command -v ogr2ogr >/dev/null || need_apt+=(gdal-bin)
  command -v bc >/dev/null || need_apt+=(bc)
  if [ ${#need_apt[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
  fi
  pg_bin=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
  chown postgres "$pg_work"
  # PostgreSQL refuses to run as root: the cluster belongs to the postgres user.
  runuser -u postgres -- "$pg_bin/initdb" -D "$pg_work/data" -U postgres --auth=trust -E UTF8 >/dev/null
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_work/data" -l "$pg_work/pg.log" -w -o \
    "-p $port -k $pg_work -c listen_addresses=127.0.0.1 -c shared_buffers=2GB -c work_mem=64MB \
     -c effective_cache_size=8GB -c max_parallel_workers_per_gather=2 -c fsync=off" start >/dev/null
  dsn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
  psql -c 'CREATE EXTENSION postgis'
}

psql() { "$pg_bin/psql" -q -X -v ON_ERROR_STOP=1 "$dsn" "$@"; }

stop_postgis() {
  [ -n "${pg_work:-}" ] || return 0
  runuser -u postgres -- "$pg_bin/pg_ctl" -D "$pg_work/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$pg_work"
}

# load_carriers_postgis FILE: the carriers into table `carriers` (GiST on geom, b-trees on the
# attributes the comparisons filter on, clustered by the GiST index, analysed).
load_carriers_postgis() {
  ogr2ogr -f PostgreSQL "PG:$dsn" "$1" -nln carriers \
    -lco GEOMETRY_NAME=geom -lco FID=id -lco SPATIAL_INDEX=GIST -nlt POLYGON --config PG_USE_COPY YES
  psql -c 'CREATE INDEX ON carriers (industry)' -c 'CREATE INDEX ON carriers (available_floor_area_m2)' \
    -c 'CREATE INDEX ON carriers (status)' -c 'CREATE INDEX ON carriers (clear_height_m)' \
    -c 'CREATE INDEX ON carriers (power_kva)' \
    -c 'CLUSTER carriers USING carriers_geom_geom_idx' -c 'VACUUM ANALYZE carriers'
}
