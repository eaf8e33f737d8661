#!/usr/bin/env bash
# Replays the attacks of issue 13 as a hostile client would, on loopback only, and checks that
# the server holds: /health answers within 100 ms throughout, peak RSS stays under the budget
# (RSS after loading + the caches' configured budgets + a 384 MiB margin for work in flight),
# every refused attack gets a 4xx or 503 problem+json, and SIGTERM still stops the server
# within its grace period. The attacks themselves are in scripts/attack.py (standard library
# Python); this script builds, makes the data, starts the server and stops it.
#
#   scripts/attack.sh                                   # 300,000 synthetic carriers
#   ATTACK_QUICK=1 ATTACK_COUNT=20000 scripts/attack.sh  # the short run in CI
#
# ETOWN_ATLAS_BIN picks the binary (default: a release build, made if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

COUNT=${ATTACK_COUNT:-300000}
QUICK=${ATTACK_QUICK:-}
GRACE_S=${ATTACK_GRACE_S:-10}
# The quick run cuts slow readers sooner, so it waits less; the full run keeps the default.
WRITE_TIMEOUT_S=${ATTACK_WRITE_TIMEOUT_S:-$([ -n "$QUICK" ] && echo 3 || echo 30)}
CAP=${ATTACK_MAX_CONNECTIONS:-1024}

bin=${ETOWN_ATLAS_BIN:-target/release/etown-atlas}
if [ -z "${ETOWN_ATLAS_BIN:-}" ]; then cargo build --release --quiet --locked; fi
# The attacker opens more sockets than the server's cap.
ulimit -n "$(( CAP + 2048 ))" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

synth=target/synth-$COUNT
[ -f "$synth/spatial-carriers.geojson" ] || "$bin" synth --count "$COUNT" --out "$synth" 2>/dev/null

work=$(mktemp -d)
pid=
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
if [ -n "${ATTACK_BEFORE:-}" ]; then
  # A build from before these settings existed (to show what the attacks did to it).
  printf 'shutdown_grace_s = %s\n' "$GRACE_S" >"$work/attack.toml"
else
  cat >"$work/attack.toml" <<TOML
# The defaults, but for the write timeout (shorter in the quick run) and the grace period.
write_timeout_s = $WRITE_TIMEOUT_S
shutdown_grace_s = $GRACE_S
max_connections = $CAP
TOML
fi
source scripts/lib.sh
# A state store, so the edit paths are attacked too (with one editor's token).
token=$("$bin" token create --state "$work/state" --name attacker --role editor 2>/dev/null | tail -1)
start_server "$work/server.log" --data "$synth" --config "$work/attack.toml" --state "$work/state"
pid=$server_pid
echo "== attacking $addr ($COUNT carriers, pid $pid)"

status=0
python3 scripts/attack.py --addr "$addr" --pid "$pid" --cap "$CAP" --write-timeout "$WRITE_TIMEOUT_S" \
  --token "$token" ${QUICK:+--quick} || status=1

# SIGTERM must still stop the server, within its grace period (plus a second to exit).
started=$(date +%s.%N)
kill -TERM "$pid"
for _ in $(seq 1 $(( (GRACE_S + 1) * 10 ))); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "FAIL SIGTERM: still running after $((GRACE_S + 1)) s"
  status=1
else
  echo "ok   SIGTERM: stopped in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $started }") s (grace $GRACE_S s)"
fi
pid=
if [ "$status" != 0 ]; then
  echo "== server log (last 30 lines):"
  tail -30 "$work/server.log"
fi
exit $status
