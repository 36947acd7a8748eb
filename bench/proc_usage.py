#!/usr/bin/python3
"""bench/proc_usage.py — CPU time and memory of a server's process tree, for
bench/compare.sh and the scale scripts (Linux /proc only, no dependencies).

  proc_usage.py cpu PID            CPU seconds (user+system) of PID's tree
  proc_usage.py watch PID OUT      sample memory every 0.5 s until SIGTERM or
                                   SIGINT, then write JSON to OUT
  proc_usage.py rss PID            current RSS of PID's tree in KiB

How CPU is counted: for every live process in the tree (PID and all its
descendants, found through /proc/*/stat parent links) utime+stime, plus
cutime+cstime — the CPU of children it has already reaped. That way a Postfix
smtpd or cleanup process that exited during the run (max_use, max_idle) still
counts: master reaped it, so its time is in master's cutime. Threads of one
process (ringmta's shards, commit thread) are inside its utime/stime. Take a
reading before and after the load and subtract.

Memory: the sum of VmRSS over the tree (pages shared between Postfix's
processes — libraries, the binary — are counted once per process, so this
overstates Postfix; the PSS sum from smaps_rollup divides shared pages among
their users and is the fairer "how much RAM does this need"), the peak of each
sum over the samples, and the root's VmHWM (kernel-kept peak RSS, exact for a
single-process server such as ringmta).
"""
import json
import os
import signal
import sys
import time

from benchlib import status_kb

TICKS = os.sysconf("SC_CLK_TCK")


def stat_fields(pid):
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # comm may contain spaces and parentheses: split after the last ')'.
    rest = data[data.rindex(")") + 2:].split()
    return rest  # rest[0] is field 3 (state)


def tree(root):
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            ppid = int(stat_fields(name)[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, pending = [], [root]
    while pending:
        p = pending.pop()
        out.append(p)
        pending.extend(children.get(p, []))
    return out


def cpu_seconds(root):
    total = 0
    for pid in tree(root):
        try:
            f = stat_fields(pid)
        except (OSError, IndexError):
            continue  # exited meanwhile: its time moves to the parent's cutime
        # fields 14-17 (utime stime cutime cstime) are rest[11:15]
        total += sum(int(x) for x in f[11:15])
    return total / TICKS



def pss_kb(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rss_sum(root):
    return sum(status_kb(p, "VmRSS") for p in tree(root))


def watch(root, out_path):
    peak = {"peak_rss_kb": 0, "peak_pss_kb": 0, "root_hwm_kb": 0, "max_processes": 0, "samples": 0}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    deadline = time.monotonic() + 3600  # bounded even if nobody stops us
    while not stop and time.monotonic() < deadline and os.path.exists(f"/proc/{root}"):
        pids = tree(root)
        peak["peak_rss_kb"] = max(peak["peak_rss_kb"], sum(status_kb(p, "VmRSS") for p in pids))
        peak["peak_pss_kb"] = max(peak["peak_pss_kb"], sum(pss_kb(p) for p in pids))
        peak["root_hwm_kb"] = max(peak["root_hwm_kb"], status_kb(root, "VmHWM"))
        peak["max_processes"] = max(peak["max_processes"], len(pids))
        peak["samples"] += 1
        time.sleep(0.5)
    with open(out_path, "w") as f:
        json.dump(peak, f)


def main():
    if len(sys.argv) < 3 or sys.argv[1] not in ("cpu", "watch", "rss"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    root = int(sys.argv[2])
    if sys.argv[1] == "cpu":
        print(f"{cpu_seconds(root):.2f}")
    elif sys.argv[1] == "rss":
        print(rss_sum(root))
    else:
        watch(root, sys.argv[3])


if __name__ == "__main__":
    main()
