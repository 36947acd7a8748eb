#!/usr/bin/python3
"""bench/idle-connections.py — memory per idle SMTP connection, and whether
ringmta keeps serving other clients at full speed while it holds them.

  bench/idle-connections.py [--connections 10000] [--messages 20000] [--sessions 50]
                            [--build DIR] [--time-limit SECONDS]

Steps (loopback only, every step bounded):
  1. start ringmta (fresh data dir, durability fsync, limits raised to hold the
     connections, relayhost = a `ringmta-bench sink`);
  2. VmRSS of the fresh ringmta (cold: no freed heap from earlier sessions
     that new ones could reuse unseen), then open --connections TCP connections from this
     process (RLIMIT_NOFILE raised to its hard limit) and read each one's 220
     greeting, so every session really exists on the server side; VmRSS again
     after a short settle: (after - before) / connections = bytes per idle
     connection (user-space memory; the kernel's socket buffers are not in RSS
     and are reported separately from /proc/net/sockstat);
  3. a `ringmta-bench send` run while all of them are held;
  4. NOOP on every idle connection, counting the 250s: they were held, not
     dropped; then they are closed and the same send run again, without them
     (the baseline). Then everything is stopped.
Needs build/ringmta and build/ringmta-bench.
"""
import argparse
import os
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, send_run, status_kb, wait_port, start_ringmta, smtp_head, stop_all





def sockstat():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                parts = line.split()
                return dict(zip(parts[1::2], (int(x) for x in parts[2::2])))
    return {}



def open_idle(port, n, deadline):
    """Opens n connections and reads each 220 greeting; returns the sockets."""
    sel = selectors.DefaultSelector()
    socks, pending, greeted = [], {}, 0
    started = 0
    while greeted < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {greeted}/{n} greetings before the time limit")
        # keep at most 1000 handshakes in flight (the listen backlog is finite)
        while started < n and len(pending) < 1000:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_READ)
            pending[s] = b""
            socks.append(s)
            started += 1
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            if not data:
                raise SystemExit(f"connection closed before the greeting ({greeted} greeted)")
            pending[s] += data
            if pending[s].endswith(b"\r\n"):
                if not pending[s].startswith(b"220"):
                    raise SystemExit(f"unexpected greeting: {pending[s][:100]!r}")
                sel.unregister(s)
                del pending[s]
                greeted += 1
    sel.close()
    return socks


def noop_all(socks, deadline):
    """NOOP on every connection; returns how many answered 250."""
    sel = selectors.DefaultSelector()
    replies = {}
    for s in socks:
        s.setblocking(True)
        s.sendall(b"NOOP\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        replies[s] = b""
    ok = 0
    while replies and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=1):
            s = key.fileobj
            data = s.recv(4096)
            replies[s] += data
            if not data or replies[s].endswith(b"\r\n"):
                ok += replies[s].startswith(b"250")
                sel.unregister(s)
                del replies[s]
    sel.close()
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=10000)
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    p.add_argument("--time-limit", type=int, default=300)
    args = p.parse_args()
    ringmta, bench = os.path.join(args.build, "ringmta"), os.path.join(args.build, "ringmta-bench")
    for b in (ringmta, bench):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"{b} missing: build it first")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 200
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < need:
        raise SystemExit(f"RLIMIT_NOFILE hard limit {hard} is below {need}")

    work = tempfile.mkdtemp(prefix="ringmta-idle.")
    procs = []
    deadline = time.monotonic() + args.time_limit
    try:
        sink_port, port = free_port(), free_port()
        procs.append(subprocess.Popen([bench, "sink", "--listen", f"127.0.0.1:{sink_port}",
                                       "--duration", str(args.time_limit + 60)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(sink_port, 20)
        server = start_ringmta(ringmta, work, port, smtp_head("idle.bench.test", f"{work}/data", port) + f"""[limits]
max_connections = {args.connections + 1000}
max_connections_per_ip = {args.connections + 1000}
[delivery]
relayhost = "[127.0.0.1]:{sink_port}"
[metrics]
listen = ""
""", procs)

        # Cold: nothing has run yet, so the heap holds no freed memory from
        # earlier sessions that new ones could reuse without growing RSS.
        time.sleep(1)
        rss0, tcp0 = status_kb(server.pid, "VmRSS"), sockstat()
        t = time.monotonic()
        socks = open_idle(port, args.connections, deadline)
        open_s = time.monotonic() - t
        time.sleep(2)
        rss1, tcp1 = status_kb(server.pid, "VmRSS"), sockstat()
        rate1, p99_1, n1 = send_run(bench, port, args)
        rss2 = status_kb(server.pid, "VmRSS")
        answered = noop_all(socks, deadline)
        for s in socks:
            s.close()
        time.sleep(1)
        rate0, p99_0, n0 = send_run(bench, port, args)  # the same load without them
        hwm = status_kb(server.pid, "VmHWM")

        per_conn = (rss1 - rss0) * 1024 / args.connections
        # sockstat "mem" is in pages, for both ends of every loopback connection
        kernel_pages = tcp1.get("mem", 0) - tcp0.get("mem", 0)
        print(f"idle connections: {args.connections} opened and greeted in {open_s:.1f} s; "
              f"{answered} answered NOOP with 250 after the load run")
        print(f"ringmta VmRSS: {rss0} KiB fresh, {rss1} KiB holding them, {rss2} KiB after a "
              f"load run beside them; VmHWM {hwm} KiB")
        print(f"memory per idle connection (user space): {per_conn / 1024:.1f} KiB "
              f"({per_conn:.0f} bytes); target <= 32 KiB")
        print(f"kernel TCP memory (both ends, /proc/net/sockstat mem): {kernel_pages} pages more")
        print(f"ringmta-bench send --sessions {args.sessions} --messages {args.messages} --size 4096: "
              f"{rate0:,.0f} msgs/s (p99 {p99_0:.2f} ms) without, {rate1:,.0f} msgs/s "
              f"(p99 {p99_1:.2f} ms) with the idle connections held ({rate1 / rate0:.0%})")
        ok = answered == args.connections and n0 == n1 == args.messages
        return 0 if ok else 1
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
