#!/usr/bin/env bash
# bench/end-to-end.sh — relay throughput end to end: Postfix's smtp-source
# -> ringmta -> smtp-sink (configured as ringmta's relayhost), on loopback.
#
#   bench/end-to-end.sh [--messages N] [--sessions N] [--size BYTES] [--durability fsync|wal]
#
# Prints messages/s from the first accept to the last delivery (both from the
# daemon's log), and the accept -> delivered delay (the log's delay= field)
# at p50/p90/p99/max. Every run is bounded by the message count and a time limit.
set -euo pipefail

messages=50000 sessions=50 size=4096 durability=fsync limit=900
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/lib.sh"
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --messages) messages="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --durability) durability="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    *) echo "usage: $0 [--messages N] [--sessions N] [--size BYTES] [--durability fsync|wal] [--build DIR]" >&2; exit 2 ;;
  esac
done
need_postfix_tools "$build"

work="$(mktemp -d /tmp/ringmta-e2e.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

sink_port=$(free_port)
smtp-sink -u "$(id -un)" "127.0.0.1:$sink_port" 1024 & pids+=($!)
wait_port "$sink_port"

port=$(free_port)
cat >"$work/ringmta.toml" <<CONF
[server]
hostname = "bench.ringmta.test"
data_dir = "$work/data"
[[listener]]
address = "127.0.0.1:$port"
kind = "smtp"
[queue]
durability = "$durability"
[delivery]
relayhost = "[127.0.0.1]:$sink_port"
CONF
"$build/ringmta" --config "$work/ringmta.toml" 2>"$work/log" & pid=$!; pids+=($pid)
wait_port "$port"

timeout "$limit" smtp-source -s "$sessions" -m "$messages" -l "$size" -f bench@sender.example -t bench@rcpt.example "127.0.0.1:$port"
# Wait (bounded) until every message has been delivered or the time is up.
deadline=$((SECONDS + limit))
while (( $(grep -c 'status=sent' "$work/log" || true) < messages )) && (( SECONDS < deadline )); do sleep 0.5; done
kill -TERM "$pid"; wait "$pid" || true

/usr/bin/python3 - "$work/log" "$messages" "$durability" <<'PY'
import re, sys, datetime
log, expected, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ts = lambda line: datetime.datetime.fromisoformat(line[:26]).timestamp()
first_accept = last_sent = None
accepted, delays = {}, []
for line in open(log, errors="replace"):
    m = re.search(r" ([0-9A-Z]{16}): (accepted client=|to=<.*status=sent)", line)
    if not m:
        if "stopped:" in line:
            stop_line = line.strip()
        continue
    t = ts(line)
    if m.group(2).startswith("accepted"):
        accepted[m.group(1)] = t
        first_accept = t if first_accept is None else first_accept
    else:
        last_sent = t
        delays.append(t - accepted.get(m.group(1), t))
delays.sort()
pct = lambda p: delays[min(len(delays) - 1, int(p / 100 * len(delays)))] if delays else float("nan")
n = len(delays)
print(f"durability={mode}: {n}/{expected} delivered, "
      f"{n / (last_sent - first_accept):.0f} msgs/s end to end (first accept -> last delivery)")
print(f"accept->delivered delay: p50 {pct(50)*1000:.0f} ms, p90 {pct(90)*1000:.0f} ms, "
      f"p99 {pct(99)*1000:.0f} ms, max {delays[-1]*1000 if delays else 0:.0f} ms")
print(stop_line[stop_line.find("stopped:"):])
PY
