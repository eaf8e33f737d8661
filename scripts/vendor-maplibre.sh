#!/usr/bin/env bash
# Refreshes the vendored MapLibre GL JS in web/vendor/maplibre-gl from the npm registry.
# Usage: scripts/vendor-maplibre.sh 6.17.0
set -euo pipefail
version=${1:?usage: $0 VERSION}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "maplibre-gl@$version" >/dev/null && tar xzf "maplibre-gl-$version.tgz")
dest="$here/web/vendor/maplibre-gl"
mkdir -p "$dest"
cp "$tmp"/package/dist/{maplibre-gl.mjs,maplibre-gl-worker.mjs,maplibre-gl.css} "$dest/"
cp "$tmp/package/LICENSE.txt" "$dest/"
# The source maps are not vendored; drop the comments that point at them.
sed -i 's|^//# sourceMappingURL=.*$||' "$dest"/*.mjs
echo "$version" > "$dest/VERSION"
echo "vendored maplibre-gl $version into $dest"
