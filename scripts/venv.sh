#!/usr/bin/env bash
# Makes (or refreshes) target/venv, the Python venv with the pinned clients the tests drive
# (scripts/requirements-test.txt: OWSLib). Idempotent; run by scripts/test.sh, and by the Rust
# tests themselves when the venv is missing, so a plain `cargo test` works too. Needs python3-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x target/venv/bin/python3 ] || ! cmp -s scripts/requirements-test.txt target/venv/requirements.txt; then
  rm -rf target/venv
  python3 -m venv target/venv
  target/venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
  cp scripts/requirements-test.txt target/venv/requirements.txt
fi
