#!/usr/bin/python3
"""bench/queue-restart.py — ringmta with a large queue (the remote side down):
restart-to-serving time, and enqueue rate at N queued vs with an empty queue.

  bench/queue-restart.py [--queued 1000000] [--probe 50000] [--fill-durability wal|fsync]
                         [--fill-time 600] [--sessions 50] [--commit-wait US] [--build DIR] [--dir DIR]

Loopback only, every phase bounded. delivery.relayhost points at a port where
nothing listens (connection refused), the retry schedule is 4 h and delay
notices are off, so every message is tried once, deferred, and stays queued.

  1. fresh daemon, durability fsync: --probe-rounds runs of `ringmta-bench
     send --messages PROBE` = the enqueue rate with an (almost) empty queue;
  2. restart with durability FILL (default fsync; wal is faster on slow
     disks — say so when reporting) and fill the queue towards --queued, bounded by --fill-time
     seconds (whatever was reached is reported);
  3. stop (timed), then start in fsync mode: time from spawn to the "ready"
     log line, and to the first 250 for a message sent by a client that
     retries from the moment of spawn (new connection every 10 ms);
  4. the same probe runs again = the enqueue rate at ~N queued (medians),
     each just after a probe of a second daemon with an empty queue, and
     the ratio per pair (robust to the host's speed drifting meanwhile).
Messages are 4 KiB; the data directory is a fresh one under --dir (default
/var/tmp, a disk) and is removed at the end (unless --keep).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import smtplib
import subprocess
import sys
import tempfile
import time

from benchlib import dead_port, free_port, smtp_head



class Daemon:
    def __init__(self, ringmta, work, port, dead_port, commit_wait=None):
        self.commit_wait = "" if commit_wait is None else f"commit_wait_us = {commit_wait}\n"
        self.ringmta, self.work, self.port, self.dead_port = ringmta, work, port, dead_port
        self.proc = None
        self.log_path = None

    def start(self, durability, tag):
        conf = os.path.join(self.work, f"ringmta-{durability}.toml")
        with open(conf, "w") as f:
            f.write(smtp_head("queue.bench.test", f"{self.work}/data", self.port) + f"""[limits]
max_connections_per_ip = 1000
[queue]
durability = "{durability}"
retry_schedule = ["4h"]
max_lifetime = "5d"
delay_warning = "0"
{self.commit_wait}[delivery]
relayhost = "[127.0.0.1]:{self.dead_port}"
[metrics]
listen = ""
""")
        self.log_path = os.path.join(self.work, f"ringmta-{tag}.log")
        self.log = open(self.log_path, "w")
        self.t_spawn = time.monotonic()
        self.proc = subprocess.Popen([self.ringmta, "--config", conf], stderr=self.log)

    def ready_line(self):
        with open(self.log_path) as f:
            for line in f:
                if "ready" in line:
                    return line.strip()
        return None

    def wait_ready(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.ready_line():
                return time.monotonic() - self.t_spawn
            if self.proc.poll() is not None:
                raise SystemExit(f"ringmta exited: {open(self.log_path).read()[-2000:]}")
            time.sleep(0.01)
        raise SystemExit("ringmta not ready in time")

    def stop(self, seconds=300):
        if not self.proc or self.proc.poll() is not None:
            return 0.0
        t = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        return time.monotonic() - t

    def last_line(self, word):
        lines = [l for l in open(self.log_path) if word in l]
        return lines[-1].strip() if lines else ""


def send(bench, port, messages, sessions, duration=None, limit=900):
    cmd = [bench, "send", "--target", f"127.0.0.1:{port}", "--sessions", str(sessions),
           "--messages", str(messages), "--size", "4096", "--json", "--no-progress",
           "--max-failures", "5", "--time-limit", str(limit)]
    if duration:
        cmd += ["--duration", str(duration)]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=limit + 60)
    try:
        r = json.loads(out.stdout)
    except json.JSONDecodeError:
        raise SystemExit(f"ringmta-bench send failed ({out.returncode}): {out.stderr[-800:]}")
    return r


def first_250(daemon, seconds):
    """Retries one SMTP transaction from spawn time until it gets its 250;
    notes meanwhile when the "ready" line appeared. Returns (ready_s, first_s)."""
    deadline = time.monotonic() + seconds
    msg = "Subject: probe\r\n\r\nfirst message after restart\r\n"
    ready = None
    while time.monotonic() < deadline:
        if ready is None and daemon.ready_line():
            ready = time.monotonic() - daemon.t_spawn
        try:
            with smtplib.SMTP("127.0.0.1", daemon.port, timeout=10) as s:
                s.sendmail("probe@sender.example", ["probe@rcpt.example"], msg)
                first = time.monotonic() - daemon.t_spawn
                if ready is None:
                    ready = daemon.wait_ready(5)  # logged before we looked
                return ready, first
        except (OSError, smtplib.SMTPException):
            time.sleep(0.01)
    raise SystemExit("no 250 after restart within the time limit")


def du_mib(path):
    out = subprocess.run(["du", "-sm", path], capture_output=True, text=True)
    return out.stdout.split()[0] if out.returncode == 0 else "?"


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--queued", type=int, default=1_000_000)
    p.add_argument("--probe", type=int, default=50_000)
    p.add_argument("--probe-rounds", type=int, default=3)
    p.add_argument("--fill-durability", choices=["wal", "fsync"], default="fsync")
    p.add_argument("--fill-time", type=int, default=600)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--commit-wait", type=int, default=None, help="queue.commit_wait_us (default: the config's 1000)")
    p.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    p.add_argument("--dir", default="/var/tmp")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args()
    ringmta, bench = os.path.join(a.build, "ringmta"), os.path.join(a.build, "ringmta-bench")
    work = tempfile.mkdtemp(prefix="ringmta-queue-restart.", dir=a.dir)
    d = Daemon(ringmta, work, free_port(), dead_port(), a.commit_wait)
    daemons = [d]
    report = {}
    try:
        d.start("fsync", "empty")
        d.wait_ready(30)
        queued = 0
        report["rates_empty"], report["p99s_empty_ms"] = [], []
        for _ in range(a.probe_rounds):
            r = send(bench, d.port, a.probe, a.sessions)
            report["rates_empty"].append(r["msgs_per_s"])
            report["p99s_empty_ms"].append(r["latency_ms"]["end_of_data"]["p99"])
            queued += r["messages_accepted"]
        report["rate_empty"] = statistics.median(report["rates_empty"])
        report["p99_empty_ms"] = statistics.median(report["p99s_empty_ms"])
        report["queued_after_empty_probes"] = queued
        d.stop()

        d.start(a.fill_durability, "fill")
        d.wait_ready(120)
        want = max(a.queued - queued - a.probe * a.probe_rounds, 0)
        t = time.monotonic()
        if want:
            r = send(bench, d.port, want, a.sessions, duration=a.fill_time, limit=a.fill_time + 60)
            queued += r["messages_accepted"]
            report["fill_rate"] = r["msgs_per_s"]
        report["fill_seconds"] = time.monotonic() - t
        report["stop_seconds"] = d.stop()
        report["stop_line"] = d.last_line("stopped:")
        report["queued_before_restart"] = queued
        report["data_dir_mib"] = du_mib(os.path.join(work, "data"))

        d.start("fsync", "restart")
        report["ready_s"], report["first_250_s"] = first_250(d, 300)
        report["ready_line"] = d.ready_line()
        report["rss_after_restart_kib"] = int(
            [l for l in open(f"/proc/{d.proc.pid}/status") if l.startswith("VmRSS")][0].split()[1])
        # A VM's host can change speed by a third within minutes, so step 1's
        # rate is not a fair reference this much later. Each probe of the full
        # queue is paired with one, just before it, of a second daemon with an
        # empty queue (own data dir, idle otherwise), and the ratio is taken
        # per pair as well.
        e_work = os.path.join(work, "empty")
        os.makedirs(e_work)
        e = Daemon(ringmta, e_work, free_port(), d.dead_port, a.commit_wait)
        daemons.append(e)
        e.start("fsync", "empty-beside")
        e.wait_ready(30)
        report["rates_full"], report["p99s_full_ms"], report["rates_empty_beside"] = [], [], []
        # Warm both up alike (a fresh process's first run is slower), uncounted.
        warm = min(a.probe, 5000)
        send(bench, e.port, warm, a.sessions)
        accepted = send(bench, d.port, warm, a.sessions)["messages_accepted"]
        for _ in range(a.probe_rounds):
            report["rates_empty_beside"].append(send(bench, e.port, a.probe, a.sessions)["msgs_per_s"])
            r = send(bench, d.port, a.probe, a.sessions)
            report["rates_full"].append(r["msgs_per_s"])
            report["p99s_full_ms"].append(r["latency_ms"]["end_of_data"]["p99"])
            accepted += r["messages_accepted"]
        report["rate_full"] = statistics.median(report["rates_full"])
        report["p99_full_ms"] = statistics.median(report["p99s_full_ms"])
        report["paired_ratios"] = [f / x for f, x in zip(report["rates_full"], report["rates_empty_beside"])]
        report["paired_ratio"] = statistics.median(report["paired_ratios"])
        report["queued_at_end"] = queued + 1 + accepted
        e.stop()
        d.stop()
        # Count independently: ringmtactl reads the stopped daemon's queue.
        ctl = os.path.join(a.build, "ringmtactl")
        try:
            out = subprocess.run([ctl, "--data-dir", os.path.join(work, "data"), "queue", "summary"],
                                 capture_output=True, text=True, timeout=600)
            report["ringmtactl_summary"] = out.stdout.strip().splitlines()[:4]
        except subprocess.TimeoutExpired:
            report["ringmtactl_summary"] = ["ringmtactl queue summary: timed out after 600 s"]
    finally:
        for x in daemons:
            x.stop()
        if a.keep:
            print(f"kept: {work} (config files and data/)")
        else:
            shutil.rmtree(work, ignore_errors=True)

    print(f"enqueue rate, empty queue (fsync, {a.probe_rounds} x {a.probe:,} messages from 0 to "
          f"{report['queued_after_empty_probes']:,} queued): median {report['rate_empty']:,.0f} msgs/s "
          f"{[round(x) for x in report['rates_empty']]}, p99 DATA->250 {report['p99_empty_ms']:.2f} ms")
    if "fill_rate" in report:
        print(f"fill ({a.fill_durability}): {report['fill_rate']:,.0f} msgs/s for {report['fill_seconds']:.0f} s")
    print(f"queued before restart: {report['queued_before_restart']:,} messages "
          f"({report['data_dir_mib']} MiB data dir); stop took {report['stop_seconds']:.1f} s")
    print(f"  {report['stop_line']}")
    print(f"restart (fsync): 'ready' log line {report['ready_s']:.2f} s after spawn, first 250 "
          f"{report['first_250_s']:.2f} s after spawn; VmRSS then {report['rss_after_restart_kib']:,} KiB")
    print(f"  {report['ready_line']}")
    print(f"enqueue rate from {report['queued_before_restart']:,} queued (fsync, {a.probe_rounds} x {a.probe:,}): "
          f"median {report['rate_full']:,.0f} msgs/s {[round(x) for x in report['rates_full']]}, "
          f"p99 DATA->250 {report['p99_full_ms']:.2f} ms = {report['rate_full'] / report['rate_empty']:.0%} "
          f"of the empty-queue rate")
    print(f"  paired with a daemon with an empty queue beside it, probe by probe: "
          f"{[round(x) for x in report['rates_empty_beside']]} msgs/s; full/empty "
          f"{[f'{x:.0%}' for x in report['paired_ratios']]}, median {report['paired_ratio']:.0%}")
    print("ringmtactl queue summary (daemon stopped):")
    for line in report["ringmtactl_summary"]:
        print("  " + line)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
