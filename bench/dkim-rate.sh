#!/usr/bin/env bash
# bench/dkim-rate.sh — ringmta's accept rate and end-to-end rate with DKIM
# signing off, Ed25519 and RSA-2048, in the same run (issue 18's target:
# Ed25519 >= 80% of unsigned, RSA-2048 >= 50%).
#
#   bench/dkim-rate.sh [--messages N] [--sessions N] [--size BYTES] [--rounds N] [--build DIR] [--quick]
#
# Load: `ringmta-bench send` from 127.0.0.1, which is in relay.trusted_networks
# (so its mail qualifies for signing without AUTH); its From: header is
# <bench@ringmta-bench.test>, the [[dkim]] domain. Each round runs every mode
# on a fresh daemon (durability=fsync), in an order rotated per round so no
# mode always runs first:
#   accept  relayhost a dead port: the pure accept rate (sign + queue write)
#   e2e     relayhost `ringmta-bench sink`: accept rate, and the rate until
#           the sink has every message
# Prints msgs/s per mode and its share of the unsigned rate of the same round,
# and checks that a queued message of a signing run starts with its
# DKIM-Signature (and an unsigned one does not). Keys come from
# `ringmtactl dkim keygen`. --quick: 300 messages, 1 round (the script works).
set -euo pipefail

messages=20000 sessions=50 size=4096 limit=600 rounds=1
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/lib.sh"
build="$root/build"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --messages) messages="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --time-limit) limit="$2"; shift 2 ;;
    --quick) messages=300 rounds=1 limit=120; shift ;;
    *) echo "usage: $0 [--messages N] [--sessions N] [--size BYTES] [--rounds N] [--build DIR] [--time-limit S] [--quick]" >&2; exit 2 ;;
  esac
done
for b in ringmta ringmtactl ringmta-bench; do
  [[ -x "$build/$b" ]] || { echo "no $build/$b: cmake --build build --target $b" >&2; exit 2; }
done
PY=/usr/bin/python3
bench="$build/ringmta-bench"
work="$(mktemp -d /tmp/ringmta-dkim-rate.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$build/ringmtactl" dkim keygen ringmta-bench.test rsa --out "$work/rsa.key" >/dev/null 2>&1
"$build/ringmtactl" dkim keygen ringmta-bench.test ed --algorithm ed25519-sha256 --out "$work/ed.key" >/dev/null 2>&1

dkim_table() {  # mode -> the [[dkim]] TOML (none for off)
  case "$1" in
    off) ;;
    ed25519) printf '[[dkim]]\ndomain = "ringmta-bench.test"\nselector = "ed"\nkey_file = "%s"\nalgorithm = "ed25519-sha256"\n' "$work/ed.key" ;;
    rsa2048) printf '[[dkim]]\ndomain = "ringmta-bench.test"\nselector = "rsa"\nkey_file = "%s"\n' "$work/rsa.key" ;;
  esac
}
start_daemon() {  # DIR MODE RELAYHOST -> mta_pid, mta_port
  local dir="$1" mode="$2" relay="$3"
  rm -rf "$dir"; mkdir -p "$dir"
  mta_port=$(free_port)
  cat >"$dir/ringmta.toml" <<CONF
[server]
hostname = "bench.ringmta.test"
data_dir = "$dir/data"
[[listener]]
address = "127.0.0.1:$mta_port"
kind = "smtp"
[queue]
durability = "fsync"
[delivery]
relayhost = "$relay"
[metrics]
listen = ""
[log]
level = "warn"
$(dkim_table "$mode")
CONF
  "$build/ringmta" --config "$dir/ringmta.toml" 2>"$dir/log" & mta_pid=$!; pids+=("$mta_pid")
  wait_port "$mta_port"
}
stop_daemon() { kill -TERM "$mta_pid"; wait "$mta_pid" || true; }
load() {  # PORT OUT
  "$bench" send --target "127.0.0.1:$1" --sessions "$sessions" --messages "$messages" --size "$size" \
    --time-limit "$limit" --json >"$2"
}
rate_of() { $PY -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["msgs_per_s"]))' "$1"; }
accepted_of() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages_accepted"])' "$1"; }
check_signed() {  # DIR MODE: the first queued message starts with DKIM-Signature iff signing
  local id first
  # Whole outputs to files: `| head` would end the writer with SIGPIPE (pipefail).
  "$build/ringmtactl" --data-dir "$1/data" queue list >"$work/list.txt"
  id=$(awk 'NR == 1 { print $1 }' "$work/list.txt")
  "$build/ringmtactl" --data-dir "$1/data" queue cat "$id" >"$work/first.eml"
  first=$(head -c 16 "$work/first.eml")
  if [[ "$2" == off ]]; then [[ "$first" != "DKIM-Signature: " ]] || { echo "off run signed a message" >&2; exit 1; }
  else [[ "$first" == "DKIM-Signature: " ]] || { echo "$2 run queued an unsigned message: $first" >&2; exit 1; }; fi
}

echo "load: ringmta-bench send --sessions $sessions --messages $messages --size $size (loopback, $(nproc) CPUs, fsync)"
modes=(off ed25519 rsa2048)
for ((round = 1; round <= rounds; round++)); do
  declare -A acc=() e2e=()
  order=("${modes[@]:$(( (round - 1) % 3 ))}" "${modes[@]:0:$(( (round - 1) % 3 ))}")
  for mode in "${order[@]}"; do
    # accept: nothing is delivered (dead relayhost), everything stays queued.
    start_daemon "$work/acc-$mode" "$mode" "[127.0.0.1]:$(dead_port)"
    load "$mta_port" "$work/acc-$mode.json"
    stop_daemon
    check_signed "$work/acc-$mode" "$mode"
    acc[$mode]=$(rate_of "$work/acc-$mode.json")
    # e2e: to a sink; the time until the sink has every accepted message.
    sp=$(free_port)
    "$bench" sink --listen "127.0.0.1:$sp" --json --report-interval 0.2 >"$work/sink.json" 2>"$work/sink.err" &
    sink_pid=$!; pids+=("$sink_pid"); wait_port "$sp"
    start_daemon "$work/e2e-$mode" "$mode" "[127.0.0.1]:$sp"
    t0=$(now)
    load "$mta_port" "$work/e2e-$mode.json"
    want=$(accepted_of "$work/e2e-$mode.json")
    deadline=$((SECONDS + limit))
    sink_count() { grep -o '[0-9,]* msgs' "$work/sink.err" | tail -1 | tr -d ', msg' || echo 0; }
    while (( $(sink_count) < want )) && (( SECONDS < deadline )); do sleep 0.1; done
    t1=$(now)
    stop_daemon; kill -TERM "$sink_pid"; wait "$sink_pid" || true
    got=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["messages"])' "$work/sink.json")
    e2e[$mode]=$($PY -c "import sys; print(round(int(sys.argv[1])/(float(sys.argv[3])-float(sys.argv[2]))))" "$got" "$t0" "$t1")
    [[ "$got" -ge "$want" ]] || echo "warning: $mode e2e: the sink got $got of $want" >&2
  done
  echo "round $round (order: ${order[*]})"
  for mode in "${modes[@]}"; do
    $PY -c "import sys
m,a,a0,e,e0=sys.argv[1],*map(float,sys.argv[2:])
print(f'  {m:<8} accept {a:>7,.0f} msgs/s ({100*a/a0:5.1f}% of off)   end to end {e:>7,.0f} msgs/s ({100*e/e0:5.1f}% of off)')" \
      "$mode" "${acc[$mode]}" "${acc[off]}" "${e2e[$mode]}" "${e2e[off]}"
  done
done
