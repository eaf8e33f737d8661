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
