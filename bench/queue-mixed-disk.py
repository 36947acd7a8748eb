#!/usr/bin/python3
"""bench/queue-mixed-disk.py — the queue's disk use under mixed traffic: most
messages delivered at once, a few deferred for hours. Shows whether blob files
holding one long-lived body among dead ones are reclaimed (bounded disk use) or
pile up with the volume sent (unbounded).

  bench/queue-mixed-disk.py [--rounds 3] [--messages 200000] [--deferred-pct 2]
                            [--settle 30] [--sink-delay 0] [--build DIR] [--dir DIR]

Loopback only, every phase bounded. ringmta (durability fsync) relays to a
`ringmta-bench sink` that answers --deferred-pct percent of RCPTs with 451, so
those messages are deferred (retry schedule 4 h) and stay queued; the rest are
delivered and deleted. Each round sends --messages 4 KiB messages, waits until
no message is left but the deferred ones (ringmtactl queue summary), lets the
daemon run --settle seconds more (compactions finish), then reports the data
directory's blob + SST bytes (the WAL, preallocated and recycled by size, is
shown apart: it is bounded by max_total_wal_size, not by garbage collection).
With reclaimed garbage blob + SST after each round stays near the live
deferred bodies; otherwise it grows with the volume sent.
--sink-delay delays the sink's replies (ms) so more bodies are flushed to blob
files before their delivery deletes them (a slow remote side).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, wait_port, start_ringmta, smtp_head, stop_all




def queue_bytes(qdir):
    """(total, blob, sst) bytes of the files in the RocksDB directory."""
    total = blob = sst = 0
    for name in os.listdir(qdir):
        try:
            size = os.stat(os.path.join(qdir, name)).st_blocks * 512  # on-disk, as du counts
        except FileNotFoundError:
            continue  # deleted by a compaction while we looked
        total += size
        blob += size if name.endswith(".blob") else 0
        sst += size if name.endswith(".sst") else 0
    return total, blob, sst


def summary_counts(ctl, data_dir):
    """(messages, deferred) from ringmtactl queue summary's total line and columns."""
    out = subprocess.run([ctl, "--data-dir", data_dir, "queue", "summary"],
                         capture_output=True, text=True, timeout=120)
    msgs = deferred = 0
    for line in out.stdout.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 4 and cols[1].isdigit() and cols[3].isdigit():
            msgs += int(cols[1])
            deferred += int(cols[3])
    m = re.search(r"total: (\d+) message", out.stdout)
    return (int(m.group(1)) if m else msgs), deferred


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--deferred-pct", type=float, default=2.0)
    p.add_argument("--settle", type=int, default=30)
    p.add_argument("--sink-delay", type=int, default=0)
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--round-time", type=int, default=600, help="bound on one round's send + drain")
    p.add_argument("--build", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "build"))
    p.add_argument("--dir", default="/var/tmp")
    a = p.parse_args()
    ringmta, bench, ctl = (os.path.join(a.build, n) for n in ("ringmta", "ringmta-bench", "ringmtactl"))
    work = tempfile.mkdtemp(prefix="ringmta-queue-mixed.", dir=a.dir)
    data_dir = os.path.join(work, "data")
    sink_port, port = free_port(), free_port()
    procs = []
    rows = []
    try:
        sink_cmd = [bench, "sink", "--listen", f"127.0.0.1:{sink_port}", "--rcpt-temp-fail",
                    str(a.deferred_pct), "--seed", "7", "--report-interval", "0"]
        if a.sink_delay:
            sink_cmd += ["--reply-delay", str(a.sink_delay)]
        sink = subprocess.Popen(sink_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(sink)
        wait_port(sink_port, 30)
        daemon = start_ringmta(ringmta, work, port, smtp_head("mixed.bench.test", f"{data_dir}", port) + f"""[limits]
max_connections_per_ip = 1000
[queue]
durability = "fsync"
retry_schedule = ["4h"]
max_lifetime = "5d"
delay_warning = "0"
[delivery]
relayhost = "[127.0.0.1]:{sink_port}"
[metrics]
listen = ""
""", procs, seconds=30)
        qdir = os.path.join(data_dir, "queue")
        for rnd in range(1, a.rounds + 1):
            t0 = time.monotonic()
            cmd = [bench, "send", "--target", f"127.0.0.1:{port}", "--sessions", str(a.sessions),
                   "--messages", str(a.messages), "--size", "4096", "--json", "--no-progress",
                   "--max-failures", "5", "--time-limit", str(a.round_time)]
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=a.round_time + 60)
            try:
                sent = json.loads(out.stdout)
            except json.JSONDecodeError:
                raise SystemExit(f"ringmta-bench send failed ({out.returncode}): {out.stderr[-800:]}")
            # Drain: every message left is a deferred one (tried once, 451).
            deadline = t0 + a.round_time
            while True:
                msgs, deferred = summary_counts(ctl, data_dir)
                if msgs == deferred:
                    break
                if time.monotonic() > deadline:
                    raise SystemExit(f"round {rnd}: {msgs - deferred} message(s) still undelivered")
                time.sleep(2)
            drained = time.monotonic() - t0
            peak = queue_bytes(qdir)[0]
            for _ in range(a.settle):
                time.sleep(1)
                peak = max(peak, queue_bytes(qdir)[0])
            total, blob, sst = queue_bytes(qdir)
            row = {"round": rnd, "accepted": sent["messages_accepted"], "send_rate": sent["msgs_per_s"],
                   "drain_s": round(drained, 1), "queued_deferred": deferred,
                   "queue_mib": round(total / 2**20, 1), "data_mib": round((blob + sst) / 2**20, 1),
                   "blob_mib": round(blob / 2**20, 1),
                   "sst_mib": round(sst / 2**20, 1), "peak_mib": round(peak / 2**20, 1),
                   "blob_files": sum(n.endswith(".blob") for n in os.listdir(qdir))}
            rows.append(row)
            print(f"round {rnd}: {row['accepted']:,} accepted at {row['send_rate']:,.0f} msgs/s, drained in "
                  f"{row['drain_s']} s, {deferred:,} deferred queued; after {a.settle} s: blob+SST "
                  f"{row['data_mib']} MiB (blob {row['blob_mib']} MiB in {row['blob_files']} files, "
                  f"SST {row['sst_mib']} MiB); whole queue dir {row['queue_mib']} MiB, peak "
                  f"{row['peak_mib']} MiB", flush=True)
    finally:
        stop_all(procs, seconds=120)
        shutil.rmtree(work, ignore_errors=True)
    if rows:
        live = rows[-1]["queued_deferred"] * 4096 / 2**20
        print(f"live deferred bodies: {live:.1f} MiB uncompressed; blob+SST by round: "
              f"{' -> '.join(str(r['data_mib']) for r in rows)} MiB")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
