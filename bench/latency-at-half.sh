#!/usr/bin/env bash
# bench/latency-at-half.sh — end of DATA -> 250 latency at half of ringmta's
# peak accept rate (the issue's target: p99 <= 10 ms).
#
#   bench/latency-at-half.sh [--durability fsync|wal] [--sessions N] [--messages N]
#                            [--duration SECONDS] [--commit-wait US] [--build DIR]
#
# 1. ringmta (fresh data dir) relaying to a `ringmta-bench sink`;
# 2. peak: `ringmta-bench send --sessions N --messages M` as fast as it goes;
# 3. `ringmta-bench send --rate PEAK/2 --duration D` against the same daemon:
#    its end_of_data percentiles (p50/p90/p99/p99.9/max) are the answer.
# Loopback only; both runs bounded (--time-limit); everything started here is
# stopped by PID at exit.
set -euo pipefail
durability=fsync sessions=50 messages=50000 duration=20 commit_wait=""
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/lib.sh"
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --durability) durability="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --messages) messages="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --commit-wait) commit_wait="commit_wait_us = $2"; shift 2 ;;  # else the default (1000)
    --build) build="$2"; shift 2 ;;
    *) sed -n '5,6p' "$0" >&2; exit 2 ;;
  esac
done
bench="$build/ringmta-bench"
[[ -x "$build/ringmta" && -x "$bench" ]] || { echo "build ringmta and ringmta-bench first" >&2; exit 2; }
work="$(mktemp -d /tmp/ringmta-latency.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
            for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM
port=$(free_port) sink_port=$(free_port)

"$bench" sink --listen "127.0.0.1:$sink_port" --duration 900 >/dev/null 2>&1 & pids+=($!)
cat >"$work/ringmta.toml" <<CONF
[server]
hostname = "latency.bench.test"
data_dir = "$work/data"
[[listener]]
address = "127.0.0.1:$port"
kind = "smtp"
[relay]
trusted_networks = ["127.0.0.0/8"]
[limits]
max_connections_per_ip = 1000
[queue]
durability = "$durability"
$commit_wait
[delivery]
relayhost = "[127.0.0.1]:$sink_port"
[metrics]
listen = ""
CONF
"$build/ringmta" --config "$work/ringmta.toml" 2>"$work/ringmta.log" & pids+=($!)
for _ in $(seq 1 300); do grep -q ready "$work/ringmta.log" && break; sleep 0.05; done
grep -q ready "$work/ringmta.log" || { cat "$work/ringmta.log" >&2; exit 1; }

"$bench" send --target "127.0.0.1:$port" --sessions "$sessions" --messages "$messages" --size 4096 \
  --json --no-progress --time-limit 300 >"$work/peak.json"
peak=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["msgs_per_s"])' "$work/peak.json")
half=$(/usr/bin/python3 -c 'import sys; print(round(float(sys.argv[1]) / 2))' "$peak")
"$bench" send --target "127.0.0.1:$port" --sessions "$sessions" --rate "$half" --duration "$duration" \
  --size 4096 --json --no-progress --time-limit "$((duration + 120))" >"$work/half.json"

/usr/bin/python3 - "$work/peak.json" "$work/half.json" "$durability" "$sessions" <<'PY'
import json, sys
peak, half = (json.load(open(p)) for p in sys.argv[1:3])
mode, sessions = sys.argv[3], sys.argv[4]
def pct(r):
    e = r["latency_ms"]["end_of_data"]
    return f'p50 {e["p50"]:.2f} / p90 {e["p90"]:.2f} / p99 {e["p99"]:.2f} / p99.9 {e["p99.9"]:.2f} / max {e["max"]:.2f} ms'
print(f"durability={mode}, {sessions} sessions, 4 KiB messages")
print(f"peak:  {peak['msgs_per_s']:,.0f} msgs/s ({peak['messages_accepted']} messages); end of DATA->250 {pct(peak)}")
print(f"half:  {half['msgs_per_s']:,.0f} msgs/s for {half['elapsed_s']:.1f} s ({half['messages_accepted']} messages); "
      f"end of DATA->250 {pct(half)}")
PY
