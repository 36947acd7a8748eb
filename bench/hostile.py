#!/usr/bin/python3
"""bench/hostile.py — ringmta under 1,000 hostile connections beside a normal sender.

  bench/hostile.py [--connections 1000] [--messages 20000] [--sessions 50]
                   [--inflight 64M] [--tls-threads 2] [--build DIR] [--time-limit SECONDS]

A benchmark, not a test (issue 15): it measures, prints figures and exits 1
only when a target is missed. Loopback only; every loop is bounded by
--time-limit; it ends only the processes it started.

Steps:
  1. start a `ringmta-bench sink` (the next hop) and ringmta (fresh data dir,
     durability fsync, relayhost = the sink, trusted_networks 127.0.0.1/32
     only, a users file for AUTH, limits.inflight_memory = --inflight, an smtp
     listener with plaintext AUTH allowed and a submissions listener);
  2. baseline: `ringmta-bench send` from 127.0.0.1 (trusted) without hostile load;
  3. hostile load from 127.0.0.2-127.0.0.9 (untrusted), --connections at once:
       pipeline  EHLO pipelined without ever reading a reply;
       drip      MAIL FROM SIZE=<max>, DATA, then one body byte a second;
       bulk      DATA, 8 MiB of body as fast as the socket takes it, then one
                 byte a second (these fill limits.inflight_memory);
       auth      AUTH PLAIN guesses for a real user, reconnecting when cut off;
     plus --tls-threads threads doing TLS handshakes on the submissions
     listener (a handshake flood, paced at --tls-rate attempts a second each),
     then 10 s of that load alone (ringmta's CPU for it), then the same send
     run as in step 2 beside all of it. The hostile sockets have 64 KiB
     buffers: on loopback the attacker's buffers would otherwise count
     against this machine's TCP memory, as a remote attacker's would not;
  4. ringmta's VmRSS is sampled every 0.5 s throughout; after the load the
     queue must drain into the sink: every message the sender got a 250 for
     is delivered (ringmta_recipients_delivered_total == accepted).
Targets: RSS peak <= inflight_memory + 200 MiB; the sender keeps >= 80% of
its baseline rate; nothing acknowledged is lost.
Needs build/ringmta, build/ringmta-bench, build/ringmtactl and curl.
"""
import argparse
import base64
import os
import random
import resource
import selectors
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import free_port, send_run, status_kb, wait_port, start_ringmta, stop_all

SOURCES = [f"127.0.0.{i}" for i in range(2, 10)]
MIB = 1 << 20



def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metrics(port):
    out = subprocess.run(["curl", "-sS", "--max-time", "10", f"http://127.0.0.1:{port}/metrics"],
                         capture_output=True, text=True, timeout=20).stdout
    values = {}
    for line in out.splitlines():
        if line and not line.startswith("#"):
            name, _, v = line.rpartition(" ")
            try:
                values[name] = float(v)
            except ValueError:
                pass
    return values



class Hostile:
    """The hostile connections, driven by one selector loop in a thread.

    Cheap on purpose (the attacker's CPU is this machine's too): a socket is
    watched only while it has something to send or, for AUTH, to read; the
    drip connections get their byte from one pass a second over a list."""

    KINDS = ("pipeline", "drip", "bulk", "auth")

    def __init__(self, port, n, max_size, user, kinds=KINDS):
        self.port, self.n, self.max_size, self.kinds = port, n, max_size, kinds
        self.guess = f"AUTH PLAIN {base64.b64encode(f'{chr(0)}{user}{chr(0)}wrong-password'.encode()).decode()}\r\n"
        self.sel = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.stats = {k: 0 for k in ("opened", "reconnects", "bytes_sent", "auth_replies", "closed_by_server")}
        self.conns = {}       # socket -> state
        self.dripping = set()  # sockets that get one byte a second
        self.reopen_at = []   # (when, kind, slot): at most one reconnect a second per slot

    def _open(self, kind, i):
        s = socket.socket()
        # The attacker's own socket buffers are small: on loopback they count
        # against this machine's TCP memory (tcp_mem), where a remote
        # attacker's would not, and a GiB of them puts every socket of the
        # box, the normal sender's too, into TCP memory pressure. ringmta's
        # side keeps the kernel's defaults.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        s.setblocking(False)
        s.bind((SOURCES[i % len(SOURCES)], 0))
        s.connect_ex(("127.0.0.1", self.port))
        st = {"kind": kind, "i": i, "out": b"", "in": b""}
        if kind == "pipeline":
            st["out"] = b"EHLO a\r\n" * 8192
        elif kind == "drip":
            st["out"] = (f"EHLO drip\r\nMAIL FROM:<d{i}@hostile.test> SIZE={self.max_size}\r\n"
                         f"RCPT TO:<x@hostile.test>\r\nDATA\r\n").encode()
        elif kind == "bulk":
            st["out"] = (f"EHLO bulk\r\nMAIL FROM:<b{i}@hostile.test>\r\n"
                         f"RCPT TO:<x@hostile.test>\r\nDATA\r\n").encode() + (b"z" * 1022 + b"\r\n") * 8192
        else:
            st["out"] = b"EHLO guess\r\n" + self.guess.encode()
        self.conns[s] = st
        events = selectors.EVENT_WRITE | (selectors.EVENT_READ if kind == "auth" else 0)
        self.sel.register(s, events)
        self.stats["opened"] += 1

    def _close(self, s, reopen):
        st = self.conns.pop(s)
        self.dripping.discard(s)
        try:
            self.sel.unregister(s)
        except KeyError:
            pass
        s.close()
        if reopen and not self.stop.is_set():
            self.reopen_at.append((time.monotonic() + 1.0, st["kind"], st["i"]))

    def _send(self, s, st):
        """Send what fits: "sent", "blocked" (nothing fit) or "closed" (by the server)."""
        try:
            n = s.send(st["out"][:65536])
        except (BlockingIOError, InterruptedError):
            return "blocked"
        except OSError:
            return "closed"
        self.stats["bytes_sent"] += n
        if st["kind"] == "pipeline":
            st["out"] = st["out"][n:] + st["out"][:n]  # endless
        else:
            st["out"] = st["out"][n:]
        return "sent"

    def _watch(self, s, st):
        events = (selectors.EVENT_READ if st["kind"] == "auth" else 0) | (selectors.EVENT_WRITE if st["out"] else 0)
        if events:
            self.sel.modify(s, events)
        else:
            self.sel.unregister(s)

    def run(self):
        for i in range(self.n):
            self._open(self.kinds[i % len(self.kinds)], i)
        next_drip = time.monotonic() + 1.0
        while not self.stop.is_set():
            for key, ev in self.sel.select(timeout=0.2):
                s, st = key.fileobj, self.conns.get(key.fileobj)
                if st is None:
                    continue
                if ev & selectors.EVENT_READ:  # AUTH connections only
                    try:
                        data = s.recv(65536)
                    except (BlockingIOError, InterruptedError):
                        data = b"?"
                    except OSError:
                        data = b""
                    if not data:
                        self.stats["closed_by_server"] += 1
                        self._close(s, reopen=True)
                        continue
                    st["in"] += data
                    while b"\r\n" in st["in"]:  # one guess per 535 (the server delays each)
                        line, st["in"] = st["in"].split(b"\r\n", 1)
                        if line.startswith(b"535"):
                            self.stats["auth_replies"] += 1
                            st["out"] += self.guess.encode()
                result = self._send(s, st) if st["out"] else "sent"
                if result == "closed":
                    self.stats["closed_by_server"] += 1
                    self._close(s, reopen=True)
                    continue
                if st["kind"] == "pipeline":
                    # Parked once the server stops reading it (the point):
                    # stop watching it.
                    if result == "blocked":
                        self.sel.unregister(s)
                    continue
                if not st["out"] and st["kind"] in ("drip", "bulk"):
                    self.dripping.add(s)
                self._watch(s, st)
            now = time.monotonic()
            if now >= next_drip:
                next_drip = now + 1.0
                for s in list(self.dripping):
                    st = self.conns[s]
                    st["out"] = b"y"
                    if self._send(s, st) == "closed":
                        self.stats["closed_by_server"] += 1
                        self._close(s, reopen=True)
            due = [r for r in self.reopen_at if r[0] <= now]
            if due:
                self.reopen_at = [r for r in self.reopen_at if r[0] > now]
                for _, kind, i in due:
                    self.stats["reconnects"] += 1
                    self._open(kind, i)
        for s in list(self.conns):
            self._close(s, reopen=False)


def handshake_flood(port, stop, counts, per_second):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    next_at = time.monotonic()
    while not stop.is_set():
        next_at += 1.0 / per_second  # paced: the client's handshakes cost this machine's CPU too
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        try:
            raw = socket.create_connection(("127.0.0.1", port), timeout=5,
                                           source_address=(random.choice(SOURCES), 0))
            with ctx.wrap_socket(raw, server_hostname="hostile.bench.test"):
                counts["ok"] += 1
        except (OSError, ssl.SSLError):
            counts["refused"] += 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--connections", type=int, default=1000)
    p.add_argument("--messages", type=int, default=20000)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--inflight", default="64M", help="limits.inflight_memory (default 64M)")
    p.add_argument("--kinds", default=",".join(Hostile.KINDS),
                   help="hostile connection kinds, in turn (default all: " + ",".join(Hostile.KINDS) + ")")
    p.add_argument("--tls-threads", type=int, default=2)
    p.add_argument("--tls-rate", type=float, default=200, help="handshake attempts per second per thread")
    p.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    p.add_argument("--time-limit", type=int, default=600)
    args = p.parse_args()
    ringmta, bench, ctl = (os.path.join(args.build, b) for b in ("ringmta", "ringmta-bench", "ringmtactl"))
    for b in (ringmta, bench, ctl):
        if not os.access(b, os.X_OK):
            raise SystemExit(f"{b} missing: build it first")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    inflight = int(args.inflight[:-1]) * units[args.inflight[-1]] if args.inflight[-1] in units else int(args.inflight)
    max_size = 52428800

    work = tempfile.mkdtemp(prefix="ringmta-hostile.")
    procs = []
    started = time.monotonic()
    try:
        sink_port, port, subs_port, metrics_port = free_port(), free_port(), free_port(), free_port()
        procs.append(subprocess.Popen([bench, "sink", "--listen", f"127.0.0.1:{sink_port}",
                                       "--duration", str(args.time_limit + 60)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(sink_port, 20)
        users = os.path.join(work, "users")
        subprocess.run([ctl, "user", "add", "victim", "--users-file", users], input=b"correct-horse-battery\n",
                       check=True, capture_output=True, timeout=60)
        server = start_ringmta(ringmta, work, port, f"""[server]
hostname = "hostile.bench.test"
data_dir = "{work}/data"
[[listener]]
address = "127.0.0.1:{port}"
kind = "smtp"
allow_plaintext_auth = true
[[listener]]
address = "127.0.0.1:{subs_port}"
kind = "submissions"
[relay]
trusted_networks = ["127.0.0.1/32"]
local_domains = ["hostile.test"]
[limits]
max_message_size = {max_size}
inflight_memory = {inflight}
max_connections = {args.connections + 2000}
max_connections_per_ip = {args.connections + 2000}
[auth]
users_file = "{users}"
[delivery]
relayhost = "[127.0.0.1]:{sink_port}"
[metrics]
listen = "127.0.0.1:{metrics_port}"
""", procs)

        c0 = cpu_seconds(server.pid)
        t0 = time.monotonic()
        rate0, p99_0, n0 = send_run(bench, port, args)
        base_cpu = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)
        rss_base = status_kb(server.pid, "VmRSS")

        peak = [rss_base]
        sampling = threading.Event()

        def sample():
            while not sampling.is_set():
                peak[0] = max(peak[0], status_kb(server.pid, "VmRSS"))
                time.sleep(0.5)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        kinds = tuple(k for k in args.kinds.split(",") if k)
        if not kinds or set(kinds) - set(Hostile.KINDS):
            raise SystemExit(f"--kinds: choose from {','.join(Hostile.KINDS)}")
        hostile = Hostile(port, args.connections, max_size, "victim", kinds)
        ht = threading.Thread(target=hostile.run, daemon=True)
        ht.start()
        tls_stop, tls_counts = threading.Event(), {"ok": 0, "refused": 0}
        flooders = [threading.Thread(target=handshake_flood, args=(subs_port, tls_stop, tls_counts, args.tls_rate),
                                     daemon=True)
                    for _ in range(args.tls_threads)]
        flood_started = time.monotonic()
        for t in flooders:
            t.start()
        # Let the hostile connections open and the pipeliners fill the socket
        # buffers (until then each still gets replies): until the paused-for-
        # output count stands still for 2 s, at most 60 s.
        settle_end, last, still_since = time.monotonic() + 60, -1.0, time.monotonic()
        while time.monotonic() < settle_end:
            now_paused = metrics(metrics_port).get('ringmta_smtp_reads_paused_total{reason="output"}', 0)
            if now_paused != last:
                last, still_since = now_paused, time.monotonic()
            elif time.monotonic() - still_since >= 2:
                break
            time.sleep(0.5)
        # The hostile load alone: what it costs ringmta in steady state.
        c0, t0 = cpu_seconds(server.pid), time.monotonic()
        time.sleep(10)
        alone_cpu = (cpu_seconds(server.pid) - c0) / (time.monotonic() - t0)
        m_before = metrics(metrics_port)
        c_load = cpu_seconds(server.pid)
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        t_load = time.monotonic()
        rate1, p99_1, n1 = send_run(bench, port, args)
        load_s = time.monotonic() - t_load
        load_cpu = (cpu_seconds(server.pid) - c_load) / load_s
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        attacker_cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / load_s
        m_during = metrics(metrics_port)
        tls_stop.set()
        flood_s = time.monotonic() - flood_started
        hostile.stop.set()
        ht.join(timeout=60)
        for t in flooders:
            t.join(timeout=30)
        sampling.set()
        sampler.join(timeout=5)

        # Nothing acknowledged is lost: everything accepted reaches the sink.
        accepted = n0 + n1
        deadline = time.monotonic() + 120
        delivered = 0
        while time.monotonic() < deadline:
            m = metrics(metrics_port)
            delivered = m.get("ringmta_recipients_delivered_total", 0)
            if delivered >= accepted:
                break
            time.sleep(0.5)
        received = m.get("ringmta_messages_received_total", 0)

        def delta(name):
            return m_during.get(name, 0) - m_before.get(name, 0)
        limit_kib = inflight // 1024 + 200 * 1024
        print(f"hostile load: {args.connections} connections from {len(SOURCES)} untrusted addresses "
              f"({', '.join(kinds)}), {hostile.stats['opened']} opened "
              f"({hostile.stats['reconnects']} reconnects), {hostile.stats['bytes_sent'] / MIB:,.1f} MiB sent, "
              f"{hostile.stats['auth_replies']} AUTH guesses answered 535; TLS flood: "
              f"{tls_counts['ok']} handshakes done, {tls_counts['refused']} refused "
              f"({(tls_counts['ok'] + tls_counts['refused']) / flood_s:,.0f}/s attempted over {flood_s:.0f} s); "
              f"the load generator itself used {attacker_cpu:.0%} of a core during the send run")
        paused_out = delta('ringmta_smtp_reads_paused_total{reason="output"}')
        paused_in = delta('ringmta_smtp_reads_paused_total{reason="inflight"}')
        tls_total = delta('ringmta_tls_handshakes_refused_total{reason="total"}')
        tls_client = delta('ringmta_tls_handshakes_refused_total{reason="client"}')
        held = m_during.get("ringmta_inflight_memory_bytes", 0) / MIB
        print(f"during the send run: reads paused output={paused_out:.0f} inflight={paused_in:.0f}; "
              f"TLS refused total={tls_total:.0f} client={tls_client:.0f}; "
              f"in-flight bodies at its end {held:.1f} MiB")
        print(f"ringmta CPU: {alone_cpu:.0%} of a core for the hostile load alone (steady state, 10 s); "
              f"{base_cpu:.0%} during the send run alone, {load_cpu:.0%} beside the hostile load")
        print(f"ringmta VmRSS: {rss_base / 1024:.0f} MiB after the baseline run, peak {peak[0] / 1024:.0f} MiB "
              f"under hostile load; target <= inflight_memory + 200 MiB = {limit_kib / 1024:.0f} MiB")
        print(f"ringmta-bench send --sessions {args.sessions} --messages {args.messages} --size 4096: "
              f"{rate0:,.0f} msgs/s (p99 {p99_0:.2f} ms) alone, {rate1:,.0f} msgs/s (p99 {p99_1:.2f} ms) beside "
              f"the hostile load ({rate1 / rate0:.0%}; target >= 80%)")
        print(f"acknowledged {accepted:.0f}, received (metric) {received:.0f}, delivered to the sink "
              f"{delivered:.0f}")
        ok = peak[0] <= limit_kib and rate1 >= 0.8 * rate0 and delivered >= accepted == args.messages * 2
        print("targets met" if ok else "TARGET MISSED")
        return 0 if ok else 1
    finally:
        stop_all(procs)
        shutil.rmtree(work, ignore_errors=True)
        if time.monotonic() - started > args.time_limit:
            print("time limit passed", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
