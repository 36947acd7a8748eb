#!/usr/bin/env bash
# bench/accept-rate.sh — accept rate of ringmta under Postfix's smtp-source,
# beside smtp-sink's rate for the same load (the load tool's own ceiling).
#
#   bench/accept-rate.sh [--messages N] [--sessions N] [--size BYTES] [--build DIR] [--rounds N]
#
# Each round runs, one after the other, on loopback only, each bounded by N
# messages and a time limit: smtp-source -> smtp-sink; smtp-source -> ringmta
# (durability=fsync); smtp-source -> ringmta (durability=wal). Prints msgs/s,
# ringmta's share of smtp-sink's rate in that round, the queue writes and
# fsyncs (from the daemon's stop line), and the median share over the rounds.
# Each ringmta run's share is against the mean of the sink runs just before
# and just after it (the sink runs between every two ringmta runs).
#
# --threads LIST (default 0,1): ringmta's server.threads for each ringmta run,
# comma-separated. 0 is the default (a shard per core). smtp-source is one
# process and keeps one of the two cores busy, and smtp-sink is one process
# too, so on the 2-core machine 1 shard is the like-for-like setting: with 2
# shards plus the commit thread, four busy threads share two cores and every
# batch (io_uring submissions, group commits) gets smaller. Both are printed.
# --commit-wait LIST (default: none, the configuration's default of 1000):
# queue.commit_wait_us for each fsync run, comma-separated, e.g. 0,500 for an
# alternating A/B of group-commit gathering (wal runs never wait). Each round
# starts one value further along the list (0,500 then 500,0, ...), so no value
# always runs first.
# --quick: 300 messages, one round, 1 shard count, commit wait 0 and 500 — the
# test suite runs it to prove the script works (no timing checks; exit 77 when
# smtp-source is not installed). Every ringmta run must queue every message.
# Needs smtp-source/smtp-sink (Debian package postfix; Postfix itself need not run).
set -euo pipefail

messages=50000 sessions=50 size=4096 limit=600 rounds=1 threads=(0 1) waits=(default) quick=0
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
    --rounds) rounds="$2"; shift 2 ;;
    --threads) IFS=, read -r -a threads <<<"$2"; shift 2 ;;
    --commit-wait) IFS=, read -r -a waits <<<"$2"; shift 2 ;;
    --quick) quick=1 messages=300 rounds=1 limit=120 threads=(0) waits=(0 500); shift ;;
    *) echo "usage: $0 [--messages N] [--sessions N] [--size BYTES] [--build DIR] [--time-limit SECONDS] [--rounds N] [--threads LIST] [--commit-wait LIST] [--quick]" >&2; exit 2 ;;
  esac
done
need_postfix_tools "$build" "$( ((quick)) && echo 77 || echo 2)"

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

echo "load: smtp-source -s $sessions -m $messages -l $size (loopback), $rounds round(s)"

# Each mode keeps one configuration; every round starts a fresh daemon (empty
# queue) so rounds are alike. Rounds alternate sink/fsync/wal so a noisy
# neighbour hits all three alike; the ratio is taken within each round.
for mode in fsync wal; do
  mkdir -p "$work/$mode"
done

run_ringmta() {  # mode threads wait -> sets r (msgs/s) and line (queue-write figures)
  local mode="$1" nthreads="$2" wait="$3" port pid queued stats writes syncs wait_line=""
  port=$(free_port)
  [[ "$wait" != default ]] && wait_line="commit_wait_us = $wait"
  rm -rf "$work/$mode/data"
  cat >"$work/$mode/ringmta.toml" <<CONF
[server]
hostname = "bench.ringmta.test"
data_dir = "$work/$mode/data"
threads = $nthreads
[[listener]]
address = "127.0.0.1:$port"
kind = "smtp"
[queue]
durability = "$mode"
$wait_line
# Accept only: deliveries go to a loopback port nobody listens on and are
# deferred, so every accepted message is still queued when we count. The
# first refused connection marks the relayhost down (delivery.
# destination_down_time), so later messages are deferred without connecting.
[delivery]
relayhost = "[127.0.0.1]:$(dead_port)"
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
  syncs=$(sed -E 's/.* ([0-9]+) sync.*/\1/' <<<"$stats")
  line="$queued queued, $writes queue writes, $syncs fsyncs"
  # The figure is only honest if every message was accepted and is there.
  [[ $queued == "$messages" ]] || { echo "ringmta $mode: $queued of $messages messages queued" >&2; exit 1; }
}

run_sink() {  # -> sets sink_r: smtp-sink's msgs/s for the same load
  local port
  port=$(free_port)
  smtp-sink -u "$(id -un)" "127.0.0.1:$port" 1024 & pids+=($!)
  wait_port "$port"
  sink_r=$(run_source "$port")
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
}

# The host's speed drifts within a round (other tenants of the VM's host), so
# every ringmta run is bracketed by a sink run just before and just after it,
# and its share is taken against the mean of the two.
declare -A ratios
labels=()
for ((round = 1; round <= rounds; round++)); do
  run_sink; sink_rate=$sink_r
  printf 'round %d  %-33s %8s msgs/s\n' "$round" "smtp-sink (tool ceiling)" "$sink_rate"
  # This round's order of the waits: rotated by one per round.
  shift_by=$(((round - 1) % ${#waits[@]}))
  order=("${waits[@]:shift_by}" "${waits[@]:0:shift_by}")
  for mode in fsync wal; do
    ws=("${order[@]}")
    [[ $mode == wal ]] && ws=(default)  # wal never waits: one run, the default
    for t in "${threads[@]}"; do
      for w in "${ws[@]}"; do
        label="ringmta $mode threads=$t"
        [[ $mode == fsync && $w != default ]] && label+=" wait=$w"
        run_ringmta "$mode" "$t" "$w"
        run_sink; sink_after=$sink_r
        ratio=$(/usr/bin/python3 -c "import sys; r,a,b=map(float,sys.argv[1:]); print(f'{200*r/(a+b):.0f}')" \
          "$r" "$sink_rate" "$sink_after")
        printf 'round %d  %-33s %8s msgs/s  %3s%% of sink  (%s)\n' "$round" "$label" "$r" "$ratio" "$line"
        printf 'round %d  %-33s %8s msgs/s\n' "$round" "smtp-sink (tool ceiling)" "$sink_after"
        [[ -v "ratios[$label]" ]] || labels+=("$label")
        ratios[$label]+="$ratio "
        sink_rate=$sink_after
      done
    done
  done
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
for label in "${labels[@]}"; do
  # shellcheck disable=SC2086  # the list is space-separated numbers
  echo "median share of smtp-sink's rate over $rounds round(s): $label: $(median ${ratios[$label]})%"
done
