# bench/lib.sh — small helpers shared by the bench scripts (source it).
# Loopback only.

# Port pickers. A port picked with bind(0) and let go is free for anyone, so
# two pickers could hand out one number (a "dead" relayhost that was the
# daemon's own listen port made it relay to itself). So each port stays bound
# by a small holder process until this script exits: it binds, prints the
# port, closes its stdout (so $(...) returns) and polls every second whether
# the script ($$) still runs, for at most a day.
#   free_port: held with SO_REUSEADDR+SO_REUSEPORT, never listening, so the
#              server meant for it (ringmta, ringmta-bench sink, smtp-sink,
#              Postfix: all set SO_REUSEADDR) can still bind it;
#   dead_port: held with neither option: nothing can bind it, connects are refused.
_hold_port() {  # $1: 1 = reusable, 0 = dead
  /usr/bin/python3 - "$$" "$1" <<'PY' &
import os, socket, sys, time
owner, reusable = int(sys.argv[1]), sys.argv[2] == "1"
s = socket.socket()
if reusable:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
os.close(1)
os.close(2)
for _ in range(86400):
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
PY
}
free_port() { _hold_port 1; }
dead_port() { _hold_port 0; }

# wait_port PORT [SECONDS]: until 127.0.0.1:PORT accepts (default 10 s), else fail.
wait_port() {
  local deadline=$((SECONDS + ${2:-10}))
  while (( SECONDS < deadline )); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 never opened" >&2; return 1
}

# Wall-clock seconds with nanoseconds.
now() { date +%s.%N; }

# need_postfix_tools BUILD_DIR [RC]: smtp-source and smtp-sink on PATH (Debian
# puts them in /usr/sbin) and a built ringmta, else a clear message and exit 2
# (missing tools exit RC instead if given: 77 for a ctest that skips).
need_postfix_tools() {
  PATH="$PATH:/usr/sbin"
  local tool
  for tool in smtp-source smtp-sink; do
    command -v "$tool" >/dev/null || { echo "$tool not found: apt-get install postfix" >&2; exit "${2:-2}"; }
  done
  [[ -x "$1/ringmta" ]] || { echo "no $1/ringmta: build first (scripts/setup.sh)" >&2; exit 2; }
}
