#!/usr/bin/env bash
# Refreshes the vendored spreadsheet writer in web/vendor/write-excel-file/ from the npm registry:
#   scripts/vendor-xlsx.sh 4.1.1 0.25.0   (write-excel-file, esbuild to bundle it)
# write-excel-file (MIT) writes .xlsx in the browser; its "universal" build imports fflate by
# package name, so esbuild bundles the two into one ES module the page loads as it is.
set -euo pipefail
wx=${1:?usage: $0 WRITE_EXCEL_FILE ESBUILD}
eb=${2:?usage: $0 WRITE_EXCEL_FILE ESBUILD}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --silent --no-audit --no-fund "write-excel-file@$wx" "esbuild@$eb"
echo 'export { default as writeXlsx } from "write-excel-file/universal";' > entry.js
dest="$here/web/vendor/write-excel-file"
mkdir -p "$dest"
npx esbuild --bundle --format=esm --minify --platform=browser --legal-comments=none entry.js --outfile="$dest/write-excel-file.mjs"
cp node_modules/write-excel-file/LICENSE "$dest/LICENSE"
cp node_modules/fflate/LICENSE "$dest/LICENSE.fflate"
printf 'write-excel-file %s\nfflate %s (bundled)\n' "$wx" "$(node -p 'require("fflate/package.json").version')" > "$dest/VERSION"
echo "vendored write-excel-file $wx"
