#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/fuzz_targets) for a given time, starting from the seeds in
# fuzz/seeds and keeping the grown corpus in target/fuzz-corpus. Prints executions, corpus size
# and crashes per target; exits non-zero if any target crashed (the input is in
# fuzz/artifacts/TARGET/, and belongs in a regression test once fixed).
#
#   scripts/fuzz.sh                       # every target, 60 s each
#   FUZZ_SECONDS=600 scripts/fuzz.sh cql2_text query_string
#   FUZZ_SEED=1 FUZZ_SECONDS=10 scripts/fuzz.sh   # repeatable (the CI smoke run)
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-60}
# cargo-fuzz builds with -Z flags (AddressSanitizer, coverage); the toolchain here is stable, and
# RUSTC_BOOTSTRAP lets it accept them.
export RUSTC_BOOTSTRAP=1

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cql2_text cql2_json query_string geojson_ingest export_writers data_formats)

# The build's own output is kept apart and shown whole when it fails: a compile error, or LLVM
# running out of disk ("LLVM ERROR: IO failure"), must not be hidden behind the runs below.
build_log=$(mktemp)
if ! cargo fuzz build -O >"$build_log" 2>&1; then
  echo "== cargo fuzz build failed:" >&2
  grep -v -E '^ *(Compiling|Downloaded|Downloading) ' "$build_log" | tail -60 >&2
  df -h . >&2
  exit 1
fi
grep -E "^(error|warning)" "$build_log" || true

log_dir=$(mktemp -d)
failed=0
rows=()
for t in "${targets[@]}"; do
  corpus=target/fuzz-corpus/$t
  mkdir -p "$corpus"
  cp -n fuzz/seeds/"$t"/* "$corpus"/ 2>/dev/null || true
  # -timeout: one input taking longer than 10 s is a hang, reported like a crash.
  # -rss_limit_mb: a memory blow-up is a crash too.
  if cargo fuzz run -O "$t" "$corpus" -- -max_total_time="$SECONDS_PER_TARGET" -max_len=65536 \
      -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
      >"$log_dir/$t.log" 2>&1; then
    crashes=0
  else
    crashes=1
    failed=1
    echo "== $t failed:" >&2
    grep -E "ERROR|panicked|Test unit written|SUMMARY" "$log_dir/$t.log" | head -20 >&2
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log_dir/$t.log" | grep -o '[0-9]*$' || echo "?")
  size=$(find "$corpus" -type f | wc -l)
  rows+=("$t|$runs|$size|$crashes")
done

echo
echo "cargo fuzz, ${SECONDS_PER_TARGET} s per target, $(nproc) cores"
printf '| %-16s | %12s | %12s | %7s |\n' target executions "corpus size" crashes
printf '| %-16s | %12s | %12s | %7s |\n' ---------------- ------------ ------------ -------
for r in "${rows[@]}"; do
  IFS='|' read -r t runs size crashes <<<"$r"
  printf '| %-16s | %12s | %12s | %7s |\n' "$t" "$runs" "$size" "$crashes"
done
exit $failed
