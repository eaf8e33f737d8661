#!/usr/bin/env bash
# Start-up from a GeoPackage against start-up from GeoJSON, side by side in one run: N
# synthetic carriers (default 1,000,000) written as GeoJSON by `etown-atlas synth`, converted
# to a GeoPackage by GDAL (ogr2ogr), then each directory loaded by `etown-atlas validate`
# (the load `serve` does, without a snapshot), alternately, RUNS times (default 3). Prints
# each time and the medians' ratio.
#
#   scripts/formats-bench.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
runs=${2:-3}
cargo build --release --locked --quiet
bin=target/release/etown-atlas
work=target/formats-bench-$n
if [ ! -f "$work/gpkg/spatial-carriers.gpkg" ]; then
  rm -rf "$work"
  mkdir -p "$work/geojson" "$work/gpkg"
  "$bin" synth --count "$n" --out "$work/geojson"
  cp "$work"/geojson/* "$work/gpkg/"
  rm "$work/gpkg/spatial-carriers.geojson"
  ogr2ogr -f GPKG "$work/gpkg/spatial-carriers.gpkg" "$work/geojson/spatial-carriers.geojson"
fi
ls -l "$work/geojson/spatial-carriers.geojson" "$work/gpkg/spatial-carriers.gpkg"
seconds() {
  local start end
  start=$(date +%s.%N)
  "$bin" validate "$1" >/dev/null
  end=$(date +%s.%N)
  echo "$end - $start" | bc
}
geojson=(); gpkg=()
for i in $(seq "$runs"); do
  g=$(seconds "$work/geojson"); p=$(seconds "$work/gpkg")
  echo "run $i: GeoJSON ${g} s, GeoPackage ${p} s"
  geojson+=("$g"); gpkg+=("$p")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mg=$(median "${geojson[@]}"); mp=$(median "${gpkg[@]}")
echo "median: GeoJSON ${mg} s, GeoPackage ${mp} s, ratio $(echo "scale=2; $mp / $mg" | bc)"
