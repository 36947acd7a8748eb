#!/usr/bin/env bash
# bench/accept-rate.sh — accept rate of ringmta under Postfix's smtp-source,
# beside smtp-sink's rate for the same load (the load tool's own ceiling).
#
#   bench/accept-rate.sh [--messages N] [--sessions N] [--size BYTES] [--build DIR]
#
# Runs, one after the other, on loopback only, each bounded by N messages and a
# time limit: smtp-source -> smtp-sink; smtp-source -> ringmta (durability=fsync);
# smtp-source -> ringmta (durability=wal). Prints msgs/s and, for ringmta, the
# number of messages per queue write/fsync (from the daemon's stop line).
# Needs smtp-source/smtp-sink (Debian package postfix; Postfix itself need not run).
set -euo pipefail

messages=50000 sessions=50 size=4096 limit=600
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
    *) echo "usage: $0 [--messages N] [--sessions N] [--size BYTES] [--build DIR] [--time-limit SECONDS]" >&2; exit 2 ;;
  esac
done
for tool in smtp-source smtp-sink; do
  command -v "$tool" >/dev/null || PATH="$PATH:/usr/sbin"
  command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install postfix" >&2; exit 2; }
done
[[ -x "$build/ringmta" ]] || { echo "no $build/ringmta: build first (scripts/setup.sh)" >&2; exit 2; }

work="$(mktemp -d /tmp/ringmta-bench.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

rate() { /usr/bin/python3 -c "import sys; n,a,b=float(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f'{n/(b-a):.0f}')" "$@"; }

run_source() {  # port -> prints elapsed-rate
  local port="$1" t0 t1
  t0=$(now)
  timeout "$limit" smtp-source -s "$sessions" -m "$messages" -l "$size" -f bench@sender.example -t bench@rcpt.example "127.0.0.1:$port"
  t1=$(now)
  rate "$messages" "$t0" "$t1"
}

echo "load: smtp-source -s $sessions -m $messages -l $size (loopback)"

port=$(free_port)
smtp-sink -u "$(id -un)" "127.0.0.1:$port" 1024 & pids+=($!)
wait_port "$port"
sink_rate=$(run_source "$port")
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
printf '%-28s %8s msgs/s\n' "smtp-sink (tool ceiling)" "$sink_rate"

for mode in fsync wal; do
  port=$(free_port)
  mkdir -p "$work/$mode"
  cat >"$work/$mode/ringmta.toml" <<CONF
[server]
hostname = "bench.ringmta.test"
data_dir = "$work/$mode/data"
[[listener]]
address = "127.0.0.1:$port"
kind = "smtp"
[queue]
durability = "$mode"
# Accept only: deliveries go to a loopback port nobody listens on and are
# deferred, so every accepted message is still queued when we count.
[delivery]
relayhost = "[127.0.0.1]:$(free_port)"
[log]
level = "info"
CONF
  "$build/ringmta" --config "$work/$mode/ringmta.toml" 2>"$work/$mode/log" & pid=$!; pids+=($pid)
  wait_port "$port"
  r=$(run_source "$port")
  kill -TERM "$pid"; wait "$pid" || true
  queued=$("$build/ringmtactl" --data-dir "$work/$mode/data" queue list | wc -l)
  # "stopped: C connection(s), M message(s) accepted, W queue write(s), S sync(s)"
  stats=$(grep -o 'stopped: .*' "$work/$mode/log" | tail -1)
  writes=$(sed -E 's/.* ([0-9]+) queue write.*/\1/' <<<"$stats")
  per_write=$(/usr/bin/python3 -c "import sys; print(f'{int(sys.argv[1])/max(1,int(sys.argv[2])):.1f}')" "$queued" "$writes")
  printf '%-28s %8s msgs/s   (%s queued, %s queue writes, %s msgs per write)\n' \
    "ringmta durability=$mode" "$r" "$queued" "$writes" "$per_write"
done
