#!/usr/bin/env bash
# bench/ringmta-accept.sh — ringmta's accept rate with `ringmta-bench send`
# as the load, beside the tools' own ceiling (send -> sink), on loopback.
#
#   bench/ringmta-accept.sh [--messages N] [--sessions N] [--size BYTES] [--build DIR]
#                           [--only ceiling,fsync,wal,tls,e2e]
#
# Rows (each bounded by N messages and --time-limit; only loopback):
#   ceiling  ringmta-bench send -> ringmta-bench sink (what the tools can do)
#   fsync    send -> ringmta, durability=fsync, smtp listener, relayhost a dead
#            port (nothing is delivered: pure accept rate)
#   wal      the same with durability=wal
#   tls      send --tls --auth -> ringmta submissions listener (implicit TLS,
#            AUTH PLAIN against a users file made with ringmtactl), fsync
#   e2e      send -> ringmta (fsync) -> ringmta-bench sink as relayhost: accept
#            rate, and the rate until the sink has every message
# Prints msgs/s, p50/p99 of end-of-DATA -> 250, and checks that the queue (or
# the sink) holds exactly what was accepted.
set -euo pipefail

messages=50000 sessions=50 size=4096 limit=600 only="ceiling,fsync,wal,tls,e2e"
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/lib.sh"
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --messages) messages="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --time-limit) limit="$2"; shift 2 ;;
    --only) only="$2"; shift 2 ;;
    *) echo "usage: $0 [--messages N] [--sessions N] [--size BYTES] [--build DIR] [--time-limit S] [--only LIST]" >&2; exit 2 ;;
  esac
done
for b in ringmta ringmtactl ringmta-bench; do
  [[ -x "$build/$b" ]] || { echo "no $build/$b: cmake --build build --target $b" >&2; exit 2; }
done
PY=/usr/bin/python3
bench="$build/ringmta-bench"
work="$(mktemp -d /tmp/ringmta-accept.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wants() { [[ ",$only," == *",$1,"* ]]; }
# row NAME JSON-FILE EXTRA: one line from a send report.
row() {
  $PY - "$1" "$2" "${3:-}" <<'PY'
import json, sys
name, path, extra = sys.argv[1], sys.argv[2], sys.argv[3]
r = json.load(open(path))
eod = r["latency_ms"].get("end_of_data", {})
print(f"{name:<36} {r['msgs_per_s']:>9,.0f} msgs/s  accepted {r['messages_accepted']:>7}  "
      f"eod->250 p50 {eod.get('p50', 0):6.2f} ms p99 {eod.get('p99', 0):7.2f} ms  {extra}")
PY
}
load() {  # load PORT OUT [send args...]
  local port="$1" out="$2"; shift 2
  "$bench" send --target "127.0.0.1:$port" --sessions "$sessions" --messages "$messages" --size "$size" \
    --time-limit "$limit" --json "$@" >"$out"
}
start_sink() {  # start_sink PORT -> pid in sink_pid; progress lines every 0.2 s in sink-PORT.err
  "$bench" sink --listen "127.0.0.1:$1" --json --report-interval 0.2 >"$work/sink-$1.json" 2>"$work/sink-$1.err" &
  sink_pid=$!; pids+=("$sink_pid")
  wait_port "$1"
}
stop_sink() { kill -TERM "$sink_pid"; wait "$sink_pid" || true; }
# daemon DIR MODE RELAYHOST [extra listener TOML] -> pid in mta_pid, port in mta_port
start_daemon() {
  local dir="$1" mode="$2" relay="$3" extra="${4:-}"
  mkdir -p "$dir"
  mta_port=$(free_port)
  cat >"$dir/ringmta.toml" <<CONF
[server]
hostname = "bench.ringmta.test"
data_dir = "$dir/data"
[[listener]]
address = "127.0.0.1:$mta_port"
kind = "smtp"
$extra
[queue]
durability = "$mode"
[delivery]
relayhost = "$relay"
[log]
level = "warn"
CONF
  "$build/ringmta" --config "$dir/ringmta.toml" 2>"$dir/log" & mta_pid=$!; pids+=("$mta_pid")
  wait_port "$mta_port"
}
stop_daemon() { kill -TERM "$mta_pid"; wait "$mta_pid" || true; }
queued() { "$build/ringmtactl" --data-dir "$1/data" queue list | wc -l; }

echo "load: ringmta-bench send --sessions $sessions --messages $messages --size $size (loopback, $(nproc) CPUs)"

if wants ceiling; then
  p=$(free_port); start_sink "$p"
  load "$p" "$work/ceiling.json"
  stop_sink
  row "send -> sink (tool ceiling)" "$work/ceiling.json" \
    "sink counted $($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$work/sink-$p.json")"
fi

for mode in fsync wal; do
  wants "$mode" || continue
  start_daemon "$work/$mode" "$mode" "[127.0.0.1]:$(dead_port)"
  load "$mta_port" "$work/$mode.json"
  stop_daemon
  row "send -> ringmta ($mode)" "$work/$mode.json" "queued $(queued "$work/$mode")"
done

if wants tls; then
  dir="$work/tls"; mkdir -p "$dir"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
    -out "$dir/cert.pem" -days 2 -subj /CN=bench.ringmta.test 2>/dev/null
  echo "bench-pass-1" | "$build/ringmtactl" user add bench --users-file "$dir/users" >/dev/null 2>&1
  tls_port=$(free_port)
  start_daemon "$dir" fsync "[127.0.0.1]:$(dead_port)" "[[listener]]
address = \"127.0.0.1:$tls_port\"
kind = \"submissions\"
[tls]
certificate = \"$dir/cert.pem\"
private_key = \"$dir/key.pem\"
[auth]
users_file = \"$dir/users\""
  wait_port "$tls_port"
  load "$tls_port" "$dir/tls.json" --tls --auth bench:bench-pass-1
  stop_daemon
  row "send --tls --auth -> ringmta (fsync)" "$dir/tls.json" "queued $(queued "$dir")"
fi

if wants e2e; then
  sp=$(free_port); start_sink "$sp"
  start_daemon "$work/e2e" fsync "[127.0.0.1]:$sp"
  t0=$(date +%s.%N)
  load "$mta_port" "$work/e2e.json"
  # Wait (bounded) until the sink has every accepted message.
  want=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages_accepted"])' "$work/e2e.json")
  deadline=$((SECONDS + limit))
  sink_count() { grep -o '[0-9,]* msgs' "$work/sink-$sp.err" | tail -1 | tr -d ', msg' || echo 0; }
  while (( $(sink_count) < want )) && (( SECONDS < deadline )); do sleep 0.1; done
  t1=$(date +%s.%N)
  stop_daemon; stop_sink
  got=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$work/sink-$sp.json")
  e2e=$($PY -c "import sys; print(f'{int(sys.argv[1])/(float(sys.argv[3])-float(sys.argv[2])):,.0f}')" "$got" "$t0" "$t1")
  row "send -> ringmta (fsync) -> sink" "$work/e2e.json" "end to end $e2e msgs/s ($got/$want at the sink)"
fi
