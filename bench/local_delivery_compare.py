#!/usr/bin/python3
"""bench/local_delivery_compare.py — local delivery (mail in -> the user's
mailbox, on disk, fsynced) of ringmta against Dovecot on the same machine, same
run, same messages, same number of client sessions (issue 16).

  bench/local_delivery_compare.py [--messages 20000] [--sessions 50] [--users 10]
        [--size 4096] [--rounds 1] [--time-limit 300] [--build DIR] [--reconnect]
        [--json] [--keep]

Runs (every one with fresh servers in a fresh directory, loopback only):
  ringmta/smtp-source        Postfix's smtp-source over SMTP into ringmta
                             ([mailbox] enabled, queue durability fsync);
  ringmta/ringmta-bench      `ringmta-bench send --domains` into ringmta (same);
  dovecot-lmtp/smtp-source   smtp-source -L over LMTP into Dovecot's LMTP
                             (Maildir, mail_fsync = always);
  postfix+dovecot/smtp-source  smtp-source over SMTP into a private Postfix that
                             hands the mail to that Dovecot over LMTP (the usual
                             stack: Postfix fsyncs its queue file, Dovecot the mail).
The --messages are spread evenly over --users mailboxes: one smtp-source per
user (the user's share of messages and of --sessions; smtp-source takes one
recipient), or one ringmta-bench taking the users' domains in turn. Sessions
send message after message over one connection (smtp-source -d, as
ringmta-bench does and as Postfix's LMTP client does with its connection
cache); --reconnect makes smtp-source open one connection per message.

Figures per run: delivered msgs/s = messages / (time from the start of the
load until the last one is in its mailbox: ringmta's
ringmta_local_deliveries_total, Dovecot's "saved mail to" log lines; at the
end the stores are counted: `ringmtactl mailbox list`, the Maildir files);
accepted msgs/s (until the load tools exit); CPU seconds of the servers'
process trees over that interval (bench/proc_usage.py: live processes plus
reaped children) and the peak of the tree's summed RSS and PSS, sampled every
0.5 s. Postfix+Dovecot counts both trees. Root only (Postfix and Dovecot
switch users): exits 77 when not root or a tool is missing.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_delivery_servers import Dovecot, PostfixDovecot, Ringmta, users_for  # noqa: E402
from proc_usage import cpu_seconds, pss_kb, tree  # noqa: E402
from benchlib import status_kb  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"


class MemWatch(threading.Thread):
    """Peak summed RSS/PSS over the process trees of `roots`, every 0.5 s."""

    def __init__(self, roots):
        super().__init__(daemon=True)
        self.roots, self.stop_ev, self.rss, self.pss = roots, threading.Event(), 0, 0

    def run(self):
        while not self.stop_ev.is_set():
            pids = [p for r in self.roots for p in tree(r)]
            self.rss = max(self.rss, sum(status_kb(p, "VmRSS") for p in pids))
            self.pss = max(self.pss, sum(pss_kb(p) for p in pids))
            self.stop_ev.wait(0.5)


def shares(total, parts):
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def start_load(load, port, users, a, lmtp, work):
    """The load processes (each bounded by timeout(1) and --time-limit)."""
    procs = []
    if load == "smtp-source":
        for i, (u, m, s) in enumerate(zip(users, shares(a.messages, len(users)), shares(a.sessions, len(users)))):
            if m == 0:
                continue
            cmd = ["timeout", str(a.time_limit), SMTP_SOURCE, "-s", str(max(s, 1)), "-m", str(m),
                   "-l", str(a.size), "-f", "bench@sender.example", "-t", u]
            cmd += ["-L"] if lmtp else []
            cmd += [] if a.reconnect else ["-d"]  # -d: the next message over the same connection
            procs.append(subprocess.Popen(cmd + [f"127.0.0.1:{port}"], stdout=open(work / f"load{i}.out", "wb"),
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
    else:
        domains = ",".join(u.split("@")[1] for u in users)
        cmd = [str(Path(a.build) / "ringmta-bench"), "send", "--target", f"127.0.0.1:{port}",
               "--sessions", str(a.sessions), "--messages", str(a.messages), "--size", str(a.size),
               "--domains", domains, "--json", "--no-progress", "--time-limit", str(a.time_limit)]
        procs.append(subprocess.Popen(cmd, stdout=open(work / "load0.out", "wb"),
                                      stderr=open(work / "load0.err", "wb"), stdin=subprocess.DEVNULL))
    return procs


def run_one(kind, load, a, users, work):
    work.mkdir()
    if kind == "ringmta":
        srv = Ringmta(a.build, work, users)
    elif kind == "dovecot-lmtp":
        srv = Dovecot(work, users)
    else:
        srv = PostfixDovecot(work, users)
    procs = []
    try:
        roots = list(srv.pids)
        watch = MemWatch(roots)
        watch.start()
        cpu0 = sum(cpu_seconds(r) for r in roots)
        t0 = time.monotonic()
        procs = start_load(load, srv.port, users, a, kind == "dovecot-lmtp", work)
        t1, got, deadline = None, 0, t0 + a.time_limit
        while time.monotonic() < deadline:
            if t1 is None and all(p.poll() is not None for p in procs):
                t1 = time.monotonic()
            got = srv.delivered()
            if got >= a.messages:
                break
            time.sleep(0.05)
        t2 = time.monotonic()
        cpu1 = sum(cpu_seconds(r) for r in roots)
        watch.stop_ev.set()
        watch.join()
        for p in procs:  # bounded: each runs under timeout(1) / --time-limit
            p.wait(timeout=a.time_limit + 60)
        t1 = t1 or time.monotonic()
        load_rc = [p.returncode for p in procs]
        stored = srv.verify()
    finally:
        for p in procs:  # only if the run was cut short: TERM (timeout(1) passes it on), then KILL
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=10)
        srv.stop()
    in_store = sum(v for v in stored.values() if isinstance(v, int))
    row = {"server": kind, "load": load, "messages": a.messages, "delivered": got, "in_store": in_store,
           "load_exit_codes": sorted(set(load_rc)),
           "delivered_per_s": got / (t2 - t0), "accepted_per_s": a.messages / (t1 - t0),
           "seconds": t2 - t0, "cpu_s": cpu1 - cpu0, "cpu_s_per_1000": (cpu1 - cpu0) * 1000 / max(got, 1),
           "peak_rss_mib": watch.rss / 1024, "peak_pss_mib": watch.pss / 1024}
    if in_store != a.messages or any(load_rc):
        row["problem"] = {"stored": stored, "load_output": (work / "load0.out").read_text(errors="replace")[-500:]}
    print(f"[local-delivery] {kind:16} <- {load:13}: delivered {got}/{a.messages} ({in_store} in store) "
          f"{row['delivered_per_s']:8.0f} msgs/s, cpu {row['cpu_s']:.1f}s, rss {row['peak_rss_mib']:.0f} MiB",
          file=sys.stderr, flush=True)
    return row


def table(rows, a):
    def med(server, load, key):
        xs = sorted(r[key] for r in rows if r["server"] == server and r["load"] == load)
        return xs[len(xs) // 2] if xs else None
    runs = list(dict.fromkeys((r["server"], r["load"]) for r in rows))
    base = {s: med(s, "smtp-source", "delivered_per_s") for s in ("dovecot-lmtp", "postfix+dovecot")}
    print(f"\nLocal delivery, {a.messages} messages of {a.size} bytes to {a.users} users over {a.sessions} "
          f"sessions, loopback, fsync on every side (median of {a.rounds} round(s)):")
    head = (f"{'server <- load':38}{'delivered/s':>12}{'accepted/s':>12}{'CPU s':>8}{'CPU s/1k':>9}"
            f"{'RSS MiB':>9}{'PSS MiB':>9}{'/Dovecot':>9}{'/Pf+Dc':>8}")
    print(head)
    print("-" * len(head))
    for s, l in runs:
        d = med(s, l, "delivered_per_s")
        ratio = lambda b: f"{d / b:.2f}x" if b else "-"  # noqa: E731
        print(f"{s + ' <- ' + l:38}{d:12,.0f}{med(s, l, 'accepted_per_s'):12,.0f}{med(s, l, 'cpu_s'):8.1f}"
              f"{med(s, l, 'cpu_s_per_1000'):9.3f}{med(s, l, 'peak_rss_mib'):9.1f}{med(s, l, 'peak_pss_mib'):9.1f}"
              f"{ratio(base['dovecot-lmtp']):>9}{ratio(base['postfix+dovecot']):>8}")
    print("(/Dovecot, /Pf+Dc: delivered/s against the smtp-source runs of Dovecot LMTP and of Postfix -> "
          "Dovecot;\n ringmta-bench speaks no LMTP, so its row is ringmta's best load against smtp-source's.)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=20000)
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--users", type=int, default=10)
    ap.add_argument("--size", type=int, default=4096)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--time-limit", type=int, default=300, help="seconds per run (load and delivery)")
    ap.add_argument("--build", default=str(Path(__file__).resolve().parent.parent / "build"))
    ap.add_argument("--reconnect", action="store_true",
                    help="smtp-source: a new connection per message (bench/compare.sh's way) instead of -d")
    ap.add_argument("--json", action="store_true", help="print every run as one JSON array (the table goes to stderr)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs) and print it")
    a = ap.parse_args()
    if not (1 <= a.messages <= 1_000_000 and 1 <= a.users <= 200 and a.users <= a.sessions <= 2000
            and 1 <= a.size <= 10 << 20 and 1 <= a.rounds <= 10 and 1 <= a.time_limit <= 3600):
        raise SystemExit("messages 1..1e6, users 1..200 and <= sessions <= 2000, size <= 10 MiB, rounds 1..10")
    if os.geteuid() != 0:
        print("local_delivery_compare: Postfix and Dovecot need root; skipped", file=sys.stderr)
        sys.exit(77)
    build = Path(a.build)
    missing = [t for t in (SMTP_SOURCE, "/usr/sbin/postfix", "/usr/sbin/postconf", "/usr/sbin/dovecot",
                           "/usr/lib/dovecot/lmtp", build / "ringmta", build / "ringmtactl") if not Path(t).exists()]
    if missing:
        print(f"local_delivery_compare: missing {', '.join(map(str, missing))} (apt-get install postfix "
              "dovecot-lmtpd; build ringmta and ringmtactl); skipped", file=sys.stderr)
        sys.exit(77)
    loads = ["smtp-source"] + (["ringmta-bench"] if (build / "ringmta-bench").exists() else [])
    users = users_for(a.users)
    tmp = Path(tempfile.mkdtemp(prefix="local-delivery-bench-"))
    os.chmod(tmp, 0o755)  # Postfix's and Dovecot's unprivileged processes reach their spools
    if a.keep:
        print(f"work directory: {tmp}", file=sys.stderr)
    # Ends with cleanup (every server and load process by PID, the work
    # directory) on TERM, INT or when the whole run overstays its bound.
    def bail(signum, _frame):
        raise SystemExit(f"local_delivery_compare: stopped by signal {signum}")
    signal.signal(signal.SIGTERM, bail)
    signal.signal(signal.SIGALRM, bail)
    signal.alarm(a.rounds * (2 + len(loads)) * (a.time_limit + 180))
    rows = []
    try:
        for rnd in range(a.rounds):
            for kind, load in [("dovecot-lmtp", "smtp-source"), ("postfix+dovecot", "smtp-source")] + \
                              [("ringmta", ld) for ld in loads]:
                rows.append(run_one(kind, load, a, users, tmp / f"{rnd}-{kind}-{load}"))
                rows[-1]["round"] = rnd
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    if a.json:  # the runs on stdout, the table on stderr
        print(json.dumps(rows, indent=1))
        sys.stdout.flush()
        sys.stdout = sys.stderr
    table(rows, a)
    bad = [r for r in rows if "problem" in r or r["delivered"] < r["messages"]]
    for r in bad:
        print(f"INCOMPLETE: {r['server']} <- {r['load']}: {json.dumps(r.get('problem'))[:600]}", file=sys.stderr)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
