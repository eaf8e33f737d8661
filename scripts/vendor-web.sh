#!/usr/bin/env bash
# Refreshes the vendored browser libraries in web/vendor/ from the npm registry:
#   scripts/vendor-web.sh 6.17.0 1.35.0 1.4.1   (maplibre-gl, terra-draw, terra-draw-maplibre-gl-adapter)
# The app loads them as plain ES modules; nothing is bundled.
set -euo pipefail
ml=${1:?usage: $0 MAPLIBRE TERRA_DRAW ADAPTER}
td=${2:?usage: $0 MAPLIBRE TERRA_DRAW ADAPTER}
ad=${3:?usage: $0 MAPLIBRE TERRA_DRAW ADAPTER}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for p in "maplibre-gl@$ml" "terra-draw@$td" "terra-draw-maplibre-gl-adapter@$ad"; do
  npm pack --silent "$p" >/dev/null
done
mkdir ml td ad
tar xzf maplibre-gl-"$ml".tgz -C ml
tar xzf terra-draw-"$td".tgz -C td
tar xzf terra-draw-maplibre-gl-adapter-"$ad".tgz -C ad
dest="$here/web/vendor"
cp ml/package/dist/{maplibre-gl.mjs,maplibre-gl-worker.mjs,maplibre-gl.css} ml/package/LICENSE.txt "$dest/maplibre-gl/"
echo "$ml" > "$dest/maplibre-gl/VERSION"
cp td/package/dist/terra-draw.module.js ad/package/dist/terra-draw-maplibre-gl-adapter.module.js "$dest/terra-draw/"
printf 'terra-draw %s\nterra-draw-maplibre-gl-adapter %s\n' "$td" "$ad" > "$dest/terra-draw/VERSION"
# The adapter imports terra-draw by its package name; point it at the file beside it, so the page
# needs no import map (and no inline script, which the Content-Security-Policy forbids).
sed -i 's|from"terra-draw"|from"./terra-draw.module.js"|' "$dest/terra-draw/terra-draw-maplibre-gl-adapter.module.js"
# Source maps are not vendored; drop the comments that point at them.
sed -i 's|//# sourceMappingURL=.*$||' "$dest"/maplibre-gl/*.mjs "$dest"/terra-draw/*.js
echo "vendored maplibre-gl $ml, terra-draw $td, adapter $ad"
