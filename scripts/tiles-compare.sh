#!/usr/bin/env bash
# Vector tiles side by side with martin (issue 17): the same synthetic carriers served by our
# release server from its in-memory index and by martin 1.3.1 from a throwaway PostGIS cluster
# (GiST index, clustered), both with their tile caches off; then the caps check of every tile of
# zooms 0-9 over the data. scripts/tiles_compare.py does the requests and prints JSON lines.
#
#   scripts/tiles-compare.sh                    # 1,000,000 carriers, 3 timed runs per tile
#   COUNT=100000 RUNS=5 scripts/tiles-compare.sh
#
# martin is built from crates.io into target/tools on first use (about fifteen minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
COUNT=${COUNT:-1000000}
RUNS=${RUNS:-3}
SYNTH=${SYNTH:-target/synth-$COUNT}
PG_PORT=${PG_PORT:-55433}
MARTIN_PORT=${MARTIN_PORT:-53001}
martin=target/tools/bin/martin
if [ ! -x "$martin" ]; then
  # martin 1.3.1 with only its PostgreSQL source does not build: its tokio::main needs tokio's
  # rt-multi-thread, which only other default features enable. Its crate is fetched from
  # crates.io and that one feature added before building.
  src=$(mktemp -d)
  curl -sfL https://static.crates.io/crates/martin/martin-1.3.1.crate | tar xz -C "$src"
  python3 - "$src/martin-1.3.1/Cargo.toml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = '[dependencies.tokio]\nversion = "1"\nfeatures = [\n'
assert old in s, "martin's manifest changed"
open(p, "w").write(s.replace(old, old + '    "rt-multi-thread",\n', 1))
PY
  cargo install --path "$src/martin-1.3.1" --locked --no-default-features --features postgres --root target/tools
  rm -rf "$src"
fi
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

# martin: the table published as it is, every column a property, its cache off.
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
YAML
"$martin" --config "$work/martin.yaml" >"$work/martin.log" 2>&1 &
martin_pid=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$MARTIN_PORT/catalog" >/dev/null && break; sleep 0.2; done

# Ours: the tile and response caches off, so every tile is built as martin builds it.
printf 'tile_cache_mb = 0\nresponse_cache_mb = 0\n' >"$work/atlas.toml"
start_server "$work/atlas.log" --config "$work/atlas.toml" --data "$SYNTH"
bbox=$(curl -sf "http://$addr/collections/spatial-carriers" | python3 -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["extent"]["spatial"]["bbox"][0])))')
python3 scripts/tiles_compare.py --atlas "http://$addr" --martin "http://127.0.0.1:$MARTIN_PORT" \
  --runs "$RUNS" --bbox "$bbox"
