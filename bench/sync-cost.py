#!/usr/bin/python3
"""bench/sync-cost.py — what one fdatasync costs on the disk under the queue.

  sync-cost.py [--dir DIR] [--syncs N] [--size BYTES] [--rounds N]

In `durability = "fsync"` mode every group commit ends in one fdatasync of
RocksDB's WAL, which grows by appending. This measures, in a scratch file in
DIR (default: the current directory; point it at ringmta's data_dir), N
write+fdatasync pairs of BYTES each, two ways:

  append     the file grows with each write, like a WAL: on ext4 the sync
             must also write the inode (its size changed)
  overwrite  the same writes into a file already written once (zeros), so
             only the data goes to the disk

and prints the wall time and the system CPU time per sync for each. Under a
load that keeps the cores busy (bench/accept-rate.sh on a 2-core machine) the
CPU time matters as much as the wall time: it is taken from the same cores
that serve SMTP. Bounded: N syncs per way per round (default 2,000), and the
scratch file is removed at the end. Only Linux and Python's standard library.
"""
import argparse
import os
import resource
import sys
import tempfile
import time


def measure(directory, syncs, size, overwrite):
    """(wall µs, system CPU µs) per write+fdatasync."""
    fd, path = tempfile.mkstemp(prefix="sync-cost.", dir=directory)
    try:
        if overwrite:
            zeros = b"\0" * size
            for _ in range(syncs):
                os.write(fd, zeros)
            os.fsync(fd)
            os.lseek(fd, 0, os.SEEK_SET)
        data = b"x" * size
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
        for _ in range(syncs):
            os.write(fd, data)
            os.fdatasync(fd)
        t1, r1 = time.monotonic(), resource.getrusage(resource.RUSAGE_SELF)
        return 1e6 * (t1 - t0) / syncs, 1e6 * (r1.ru_stime - r0.ru_stime) / syncs
    finally:
        os.close(fd)
        os.unlink(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", default=".", help="directory on the disk to measure (default: .)")
    ap.add_argument("--syncs", type=int, default=2000, help="syncs per way per round (default 2000)")
    ap.add_argument("--size", type=int, default=20000,
                    help="bytes per write (default 20000: about five 4 KiB messages, a group commit's size "
                         "under smtp-source's load)")
    ap.add_argument("--rounds", type=int, default=2, help="rounds, alternating the two ways (default 2)")
    a = ap.parse_args()
    if a.syncs < 1 or a.size < 1 or a.rounds < 1:
        ap.error("--syncs, --size and --rounds must be at least 1")
    if not os.path.isdir(a.dir):
        ap.error(f"--dir {a.dir}: not a directory")
    print(f"{a.syncs} x write({a.size} bytes) + fdatasync in {os.path.abspath(a.dir)}")
    for rnd in range(1, a.rounds + 1):
        for overwrite in (False, True):
            wall, sys_cpu = measure(a.dir, a.syncs, a.size, overwrite)
            way = "overwrite" if overwrite else "append"
            print(f"round {rnd}  {way:9}  {wall:7.0f} µs wall per sync  {sys_cpu:6.0f} µs system CPU per sync")
    return 0


if __name__ == "__main__":
    sys.exit(main())
