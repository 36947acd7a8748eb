# bench/lib.sh — small helpers shared by the bench scripts (source it).
# Loopback only.

# A loopback TCP port that is free right now.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

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
