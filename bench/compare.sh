#!/usr/bin/env bash
# bench/compare.sh — ringmta against Postfix, same machine, same run, same load.
#
#   bench/compare.sh [--quick] [--messages N] [--sessions N] [--size BYTES]
#                    [--rounds N] [--build DIR] [--time-limit SECONDS] [--sink smtp-sink|ringmta-bench]
#
# Each round runs every load tool against every server, alternating:
#   loads:   Postfix's smtp-source, and `ringmta-bench send` (if build/ringmta-bench exists)
#   servers: Postfix (a private instance, below), ringmta durability=fsync (the
#            headline: Postfix fsyncs its queue files too), ringmta durability=wal
# Every run gets a fresh server (empty queue) and a fresh sink; both servers
# relay everything to the sink (Postfix: relayhost=[127.0.0.1]:SINK; ringmta:
# delivery.relayhost). Loopback only; every run is bounded by --messages and
# --time-limit.
#
# Figures per run: accepted msgs/s (the load tool's: messages / time until its
# last 250), end-to-end msgs/s (messages / time from the start of the load
# until the sink has all of them), p99 end of DATA -> 250 (ringmta-bench send
# only; smtp-source does not measure it), CPU seconds per 1,000 messages (the
# server's whole process tree from the start of the load until the sink has
# everything: see bench/proc_usage.py — for Postfix master plus every child,
# with reaped children through master's cutime/cstime), peak memory (sampled
# sum of RSS and of PSS over the tree; for ringmta, one process, RSS = VmHWM).
# The table shows the median over rounds and ringmta/Postfix ratios.
#
# Postfix: installed from Debian if missing (debconf "No configuration", so no
# system instance is set up or started). The instance here has its own
# config_directory, queue_directory and data_directory under a temporary
# directory, is started with `postfix -c DIR start` and stopped with
# `postfix -c DIR stop`; inet_interfaces=127.0.0.1 on a free port, mynetworks
# 127.0.0.0/8, chroot off (the spool is not a prepared chroot), logging to a
# file through postlogd (maillog_file) — as ringmta logs every message too.
# Everything else is Postfix's default, including its fsync of queue files.
# Postfix must run as root, so this script does too (exit 77 otherwise).
#
# --quick: tiny counts, one round; the test suite runs it (no timing checks,
# but every run must deliver every message, or the script fails).
set -euo pipefail

messages=20000 sessions=50 size=4096 rounds=3 limit=300 quick=0 sink_kind=""
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/bench/lib.sh"
build="$root/build"
usage() { sed -n '4,6p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; messages=300; sessions=10; rounds=1; limit=120; shift ;;
    --messages) messages="$2"; shift 2 ;;
    --sessions) sessions="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --build) build="$2"; shift 2 ;;
    --time-limit) limit="$2"; shift 2 ;;
    --sink) sink_kind="$2"; shift 2 ;;
    *) usage ;;
  esac
done
for v in "$messages" "$sessions" "$size" "$rounds" "$limit"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "not a positive integer: $v" >&2; exit 2; }
done
[[ $(id -u) -eq 0 ]] || { echo "compare.sh: Postfix needs root to start; skipped" >&2; exit 77; }
[[ -x "$build/ringmta" ]] || { echo "no $build/ringmta: build first (scripts/setup.sh)" >&2; exit 2; }
PATH="$PATH:/usr/sbin:/sbin"

if ! command -v postfix >/dev/null || ! command -v smtp-source >/dev/null; then
  echo "installing postfix from Debian (debconf: No configuration)" >&2
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postfix >&2
fi
bench_bin="$build/ringmta-bench"
[[ -x "$bench_bin" ]] || bench_bin=""
if [[ -z "$sink_kind" ]]; then sink_kind=${bench_bin:+ringmta-bench}; sink_kind=${sink_kind:-smtp-sink}; fi
[[ "$sink_kind" == smtp-sink || -n "$bench_bin" ]] || { echo "no $build/ringmta-bench for --sink" >&2; exit 2; }
loads=(smtp-source)
[[ -n "$bench_bin" ]] && loads+=(ringmta-bench)

work="$(mktemp -d /tmp/ringmta-compare.XXXXXX)"
chmod 755 "$work"  # Postfix's unprivileged processes must reach the spool
pids=() postfix_dirs=() watcher=""
cleanup() {
  set +e
  [[ -n "$watcher" ]] && kill "$watcher" 2>/dev/null
  for d in "${postfix_dirs[@]}"; do stop_postfix "$d"; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  for d in "${postfix_dirs[@]}"; do [[ -d "$d" ]] && rm -rf "$d"; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

py=/usr/bin/python3
usage_py="$root/bench/proc_usage.py"
log() { echo "[compare] $*" >&2; }

# --- sink -------------------------------------------------------------------
# Starts a fresh sink; sets sink_pid, sink_log. sink_count reads how many
# messages it has received so far.
start_sink() {
  local port="$1"
  sink_log="$work/sink.$port.log"
  if [[ "$sink_kind" == ringmta-bench ]]; then
    "$bench_bin" sink --listen "127.0.0.1:$port" --report-interval 0.1 --duration "$((limit * 2 + 60))" \
      >/dev/null 2>"$sink_log" &
  else
    # -c: a running counter on stdout (updated at every ".", QUIT or session end)
    smtp-sink -c -u "$(id -un)" "127.0.0.1:$port" 1024 >"$sink_log" 2>&1 &
  fi
  sink_pid=$!; pids+=("$sink_pid")
  wait_port "$port" 20
}
sink_count() {
  if [[ "$sink_kind" == ringmta-bench ]]; then
    # progress lines: "sink  1.5s: 2,000 msgs (...)"
    grep -o '[0-9,]* msgs' "$sink_log" 2>/dev/null | tail -1 | tr -d ', msg' || true
  else
    # smtp-sink -c rewrites one line: "\rsess=N quit=N mesg=N"
    tr '\r' '\n' <"$sink_log" | grep -o 'mesg=[0-9]*' | tail -1 | cut -d= -f2 || true
  fi
}
forget() {  # pid: no longer ours to stop (it has exited and was reaped)
  local keep=() p
  for p in "${pids[@]}"; do [[ "$p" == "$1" ]] || keep+=("$p"); done
  pids=("${keep[@]}")
}
stop_pid() {  # pid: TERM, wait (bounded), then KILL
  local p="$1" i
  forget "$p"
  kill "$p" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$p" 2>/dev/null || true
  wait "$p" 2>/dev/null || true
}

# --- servers ----------------------------------------------------------------
# start_<server> port sink_port: sets server_pid (root of the process tree).
start_postfix() {
  local port="$1" sink_port="$2" d="$work/postfix.$1"
  mkdir -p "$d/etc" "$d/spool" "$d/data"
  chown postfix "$d/data"
  cp /etc/postfix/master.cf "$d/etc/master.cf"
  : >"$d/etc/main.cf"
  postconf -c "$d/etc" -e \
    "compatibility_level=3.6" "queue_directory=$d/spool" "data_directory=$d/data" \
    "inet_interfaces=127.0.0.1" "inet_protocols=ipv4" "myhostname=postfix.bench.test" \
    "mydestination=" "mynetworks=127.0.0.0/8" "relayhost=[127.0.0.1]:$sink_port" \
    "smtpd_relay_restrictions=permit_mynetworks,reject" "alias_maps=" "alias_database=" \
    "local_recipient_maps=" "syslog_name=postfix-bench" \
    "maillog_file_prefixes=$d" "maillog_file=$d/maillog"
  postconf -c "$d/etc" -F '*/*/chroot = n'
  postconf -c "$d/etc" -M# smtp/inet
  postconf -c "$d/etc" -Me "$port/inet = $port inet n - n - - smtpd"
  postfix_dirs+=("$d")
  postfix -c "$d/etc" start >"$d/start.log" 2>&1 || { cat "$d/start.log" "$d/maillog" >&2; return 1; }
  wait_port "$port" 20
  server_pid=$(tr -d ' ' <"$d/spool/pid/master.pid")
  server_dir="$d"
}
forget_dir() {
  local keep=() d
  for d in "${postfix_dirs[@]}"; do [[ "$d" == "$1" ]] || keep+=("$d"); done
  postfix_dirs=("${keep[@]}")
}
stop_postfix() {
  local d="$1" pid="" i
  [[ -f "$d/spool/pid/master.pid" ]] && pid=$(tr -d ' ' <"$d/spool/pid/master.pid")
  postfix -c "$d/etc" stop >/dev/null 2>&1 || true
  [[ -n "$pid" ]] || return 0
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  postfix -c "$d/etc" abort >/dev/null 2>&1 || true
  kill -9 "$pid" 2>/dev/null || true
}
start_ringmta() {  # port sink_port durability
  local port="$1" sink_port="$2" mode="$3" d="$work/ringmta.$1"
  mkdir -p "$d"
  cat >"$d/ringmta.toml" <<CONF
[server]
hostname = "ringmta.bench.test"
data_dir = "$d/data"
[[listener]]
address = "127.0.0.1:$port"
kind = "smtp"
[relay]
trusted_networks = ["127.0.0.0/8"]
[limits]
max_connections_per_ip = 1000
[queue]
durability = "$mode"
[delivery]
relayhost = "[127.0.0.1]:$sink_port"
[metrics]
listen = ""
[log]
level = "info"
CONF
  "$build/ringmta" --config "$d/ringmta.toml" 2>"$d/ringmta.log" &
  server_pid=$!; pids+=("$server_pid")
  server_dir="$d"
  local deadline=$((SECONDS + 30))
  until grep -qs ready "$d/ringmta.log"; do
    kill -0 "$server_pid" 2>/dev/null || { cat "$d/ringmta.log" >&2; return 1; }
    (( SECONDS < deadline )) || { echo "ringmta never became ready" >&2; return 1; }
    sleep 0.05
  done
}

# --- one run ----------------------------------------------------------------
results="$work/results.jsonl"
run_one() {  # round load server
  local round="$1" load="$2" server="$3" port sink_port t0 t1 t2 cpu0 cpu1 got=0 p99="" acc_rate
  port=$(free_port); sink_port=$(free_port)
  start_sink "$sink_port"
  case "$server" in
    postfix) start_postfix "$port" "$sink_port" ;;
    ringmta-fsync) start_ringmta "$port" "$sink_port" fsync ;;
    ringmta-wal) start_ringmta "$port" "$sink_port" wal ;;
  esac
  $py "$usage_py" watch "$server_pid" "$work/mem.json" & watcher=$!
  cpu0=$($py "$usage_py" cpu "$server_pid")
  t0=$(now)
  if [[ "$load" == smtp-source ]]; then
    timeout "$limit" smtp-source -s "$sessions" -m "$messages" -l "$size" \
      -f bench@sender.example -t bench@rcpt.example "127.0.0.1:$port" >"$work/load.out" 2>&1 \
      || log "smtp-source exited $? ($(head -c 300 "$work/load.out"))"
    t1=$(now)
    acc_rate=$($py -c "import sys; print(int(sys.argv[1]) / (float(sys.argv[3]) - float(sys.argv[2])))" "$messages" "$t0" "$t1")
  else
    "$bench_bin" send --target "127.0.0.1:$port" --sessions "$sessions" --messages "$messages" \
      --size "$size" --json --no-progress --time-limit "$limit" --max-failures 5 \
      >"$work/load.json" 2>"$work/load.err" || log "ringmta-bench send exited $? ($(head -c 300 "$work/load.err"))"
    t1=$(now)
    read -r acc_rate p99 < <($py -c '
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    print(r["msgs_per_s"] if r["messages_accepted"] else 0, r["latency_ms"]["end_of_data"]["p99"])
except Exception as e:
    print(0, "")' "$work/load.json")
  fi
  local deadline=$((SECONDS + limit))
  while (( SECONDS < deadline )); do
    got=$(sink_count); got=${got:-0}
    (( got >= messages )) && break
    sleep 0.05
  done
  t2=$(now)
  cpu1=$($py "$usage_py" cpu "$server_pid")
  kill "$watcher"; wait "$watcher" 2>/dev/null || true; watcher=""
  case "$server" in
    postfix) stop_postfix "$server_dir"; forget_dir "$server_dir" ;;
    *) stop_pid "$server_pid" ;;
  esac
  stop_pid "$sink_pid"
  $py - "$results" "$round" "$load" "$server" "$messages" "$got" "$t0" "$t2" "$cpu0" "$cpu1" \
      "$acc_rate" "${p99:-}" "$work/mem.json" <<'PY'
import json, sys
out, rnd, load, server, n, got, t0, t2, c0, c1, acc, p99, mem = sys.argv[1:]
m = json.load(open(mem))
row = {"round": int(rnd), "load": load, "server": server, "messages": int(n), "delivered": int(got),
       "accepted_per_s": float(acc), "e2e_per_s": int(got) / (float(t2) - float(t0)),
       "p99_ms": float(p99) if p99 else None,
       "cpu_s_per_1000": (float(c1) - float(c0)) * 1000 / max(int(got), 1),
       "peak_rss_mib": m["peak_rss_kb"] / 1024, "peak_pss_mib": m["peak_pss_kb"] / 1024,
       "processes": m["max_processes"]}
open(out, "a").write(json.dumps(row) + "\n")
print(f"[compare] round {rnd} {load:13} -> {server:13}: accepted {row['accepted_per_s']:8.0f}/s, "
      f"e2e {row['e2e_per_s']:8.0f}/s, delivered {got}/{n}", file=sys.stderr)
PY
  rm -rf "$server_dir"
}

log "load: $messages messages of $size bytes over $sessions sessions, $rounds round(s); sink: $sink_kind; loads: ${loads[*]}"
log "machine: $(nproc) cores, $(uname -r), $(postconf -d mail_version 2>/dev/null), work dir $work"
for round in $(seq 1 "$rounds"); do
  for load in "${loads[@]}"; do
    for server in postfix ringmta-fsync ringmta-wal; do
      run_one "$round" "$load" "$server"
    done
  done
done

$py - "$results" "$quick" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
quick = sys.argv[2] == "1"
def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None
def fmt(v, spec):
    return "-" if v is None else format(v, spec)
keys = [("accepted_per_s", "accepted msgs/s", ",.0f"), ("e2e_per_s", "end-to-end msgs/s", ",.0f"),
        ("p99_ms", "p99 DATA->250 ms", ".2f"), ("cpu_s_per_1000", "CPU s / 1000 msgs", ".3f"),
        ("peak_rss_mib", "peak RSS MiB (sum)", ".1f"), ("peak_pss_mib", "peak PSS MiB (sum)", ".1f")]
ok = True
for load in dict.fromkeys(r["load"] for r in rows):
    table = {}
    for server in ("postfix", "ringmta-fsync", "ringmta-wal"):
        rs = [r for r in rows if r["load"] == load and r["server"] == server]
        table[server] = {k: med([r[k] for r in rs]) for k, _, _ in keys}
        for r in rs:
            if r["delivered"] < r["messages"] or r["accepted_per_s"] <= 0:
                ok = False
                print(f"INCOMPLETE: {load} -> {server} round {r['round']}: delivered {r['delivered']}/{r['messages']}")
    n = len([r for r in rows if r["load"] == load]) // 3
    print(f"\nload: {load} (median of {n} round(s))")
    head = f"{'':22}{'Postfix':>12}{'ringmta fsync':>15}{'ringmta wal':>13}{'fsync/Postfix':>15}{'wal/Postfix':>13}"
    print(head); print("-" * len(head))
    for k, label, spec in keys:
        p, f, w = (table[s][k] for s in ("postfix", "ringmta-fsync", "ringmta-wal"))
        ratio = lambda x: "-" if x is None or not p else f"{x / p:.2f}x"
        print(f"{label:22}{fmt(p, spec):>12}{fmt(f, spec):>15}{fmt(w, spec):>13}{ratio(f):>15}{ratio(w):>13}")
print("\nrows:", sys.argv[1].rsplit("/", 1)[0], "(removed at exit); every run:")
for r in rows:
    print("  " + json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}))
sys.exit(0 if ok else 1)
PY
