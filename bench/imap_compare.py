#!/usr/bin/python3
"""bench/imap_compare.py — IMAP: ringmta against a private loopback Dovecot
(Debian's dovecot-imapd) on the same machine, in the same run, with the same
mailbox content and the same client (`ringmta-bench imap`).

  bench/imap_compare.py [--servers dovecot,ringmta] [--messages 10000]
                        [--size 4096] [--idle 1000,10000] [--build DIR]
                        [--quick] [--json-out FILE] [--keep]

Content: one Maildir of --messages messages (text, multipart/alternative,
multipart/mixed with attachments, encoded-word subjects, flags), copied into
Dovecot's fetch@ Maildir and imported into ringmta with `ringmtactl mailbox
import --maildir`. Steps for each server (every step bounded, servers ended by
PID, loopback only):
  1. idle memory: for every --idle count, plain and TLS, a fresh server; the
     sum of RSS and of PSS over its process tree (bench/proc_usage.py) before,
     and once COUNT sessions (each its own user, empty INBOX) are in IDLE;
     KiB per connection, and server CPU per login+SELECT+IDLE. Beside the
     largest plain crowd, one normal client runs the fetch below (its
     latencies compared with the same fetch without the crowd);
  2. fetch (fresh server): a warm-up pass, then the best of --passes of one
     session's UID FETCH 1:* (FLAGS ENVELOPE BODYSTRUCTURE), and of the full
     body pass (BODY.PEEK[] in batches); then --fetch-sessions sessions at
     once; every response counted, body bytes checked against the Maildir;
     server CPU per message for the metadata pass and the body pass apart;
  3. APPEND: --append messages of --size bytes over --append-sessions
     sessions (one user each, LITERAL+ when offered); checked by STATUS;
  4. IDLE notify latency: --latency-users users with two IDLE sessions each,
     --probes deliveries (ringmta: SMTP; Dovecot: LMTP), from the final reply
     to each session's EXISTS: p50/p99.
Server durability alike: Dovecot mail_fsync = always, ringmta queue fsync.
"dovecot-hibernate" in --servers adds Dovecot with imap_hibernate_timeout = 2s
(its lowest-memory IDLE setup) for step 1 only. Exit code 77: cannot run here
(no Dovecot, not root); 1: a run failed or a check did not hold.
"""
import argparse
import imaplib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from imap_servers import DOMAIN, PASSWORD, Dovecot, Ringmta, make_cert, make_maildir  # noqa: E402
from benchlib import status_kb  # noqa: E402
from proc_usage import cpu_seconds, pss_kb, tree  # noqa: E402


def tree_memory(pid):
    pids = tree(pid)
    return sum(status_kb(p, "VmRSS") for p in pids), sum(pss_kb(p) for p in pids), len(pids)


def mem_available_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


class Bench:
    def __init__(self, a):
        self.a, self.bin = a, str(a.bench or Path(a.build) / "ringmta-bench")

    def cmd(self, srv, mode, login, *extra, tls=False):
        port = srv.tls_port if tls else srv.port
        return [self.bin, "imap", "--target", f"127.0.0.1:{port}", "--mode", mode, "--login", f"{login}:{PASSWORD}",
                "--json", "--time-limit", str(self.a.step_limit), *(["--tls"] if tls else []), *extra]

    def run(self, srv, mode, login, *extra, tls=False):
        cp = subprocess.run(self.cmd(srv, mode, login, *extra, tls=tls), capture_output=True, text=True,
                            timeout=self.a.step_limit + 60)
        if cp.returncode != 0:
            raise SystemExit(f"{srv.name}: ringmta-bench imap --mode {mode} failed ({cp.returncode}): "
                             f"{cp.stdout[-600:]} {cp.stderr[-600:]}")
        return json.loads(cp.stdout)

    def fetch(self, srv, *extra):
        r = self.run(srv, "fetch", f"fetch@{DOMAIN}", "--batch", str(self.a.batch), *extra)
        n = int(extra[extra.index("--sessions") + 1]) if "--sessions" in extra else 1
        want = n * self.a.messages
        if r["expected_messages"] != want or r["meta"]["messages"] != want:
            raise SystemExit(f"{srv.name}: fetch saw {r['meta']['messages']} messages, wanted {want}")
        if "--no-body" not in extra and (r["body"]["messages"] != want or r["body"]["bytes"] != n * self.a.bytes):
            raise SystemExit(f"{srv.name}: body fetch {r['body']['messages']} msgs {r['body']['bytes']} bytes, "
                             f"wanted {want} msgs {n * self.a.bytes} bytes")
        return r


def idle_memory(b, srv, count, tls, beside, hibernate):
    time.sleep(1.0)  # let start-up work settle
    rss0, pss0, _ = tree_memory(srv.pid)
    cpu0 = cpu_seconds(srv.pid)
    err_path = srv.work / f"idle-{count}-{tls}.err"
    p = subprocess.Popen(b.cmd(srv, "idle", "idle%d@" + DOMAIN, "--sessions", str(count), "--users", str(count),
                               "--hold", str(b.a.step_limit), tls=tls),
                         stdout=subprocess.PIPE, stderr=open(err_path, "wb"), text=True)
    try:
        deadline = time.monotonic() + b.a.step_limit
        while b"ready:" not in err_path.read_bytes():
            if p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{srv.name}: idle crowd of {count} never got ready: {err_path.read_text()[-500:]}")
            time.sleep(0.1)
        login_cpu = cpu_seconds(srv.pid) - cpu0
        time.sleep(hibernate + 3 if hibernate else 2.0)  # Dovecot moves IDLE sessions to imap-hibernate after it
        rss1, pss1, procs = tree_memory(srv.pid)
        if hibernate and procs > count // 2:
            # Dovecot hibernates only sessions it can watch with inotify: one instance
            # each, fs.inotify.max_user_instances per uid (128 by default).
            print(f"  {srv.name}: {procs} server processes for {count} sessions: most did not hibernate "
                  "(fs.inotify.max_user_instances too low?)", flush=True)
        side = None
        if beside:  # warmed up and best of --passes, like the fetch without the crowd
            b.fetch(srv)
            for _ in range(b.a.passes):
                r = b.fetch(srv)
                side = r if side is None or r["body"]["seconds"] < side["body"]["seconds"] else side
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)  # ends the hold: DONE + LOGOUT everywhere
    out, _ = p.communicate(timeout=b.a.step_limit + 60)
    r = json.loads(out)
    if p.returncode != 0 or r["idle_reached"] != count:
        raise SystemExit(f"{srv.name}: idle crowd: {r['idle_reached']} of {count} reached IDLE: {r['first_error']}")
    return {"sessions": count, "tls": tls, "rss_kib_per_conn": (rss1 - rss0) / count,
            "pss_kib_per_conn": (pss1 - pss0) / count, "server_processes": procs,
            "server_rss_mib": rss1 / 1024, "server_pss_mib": pss1 / 1024,
            "cpu_ms_per_login": login_cpu / count * 1e3, "beside_fetch": side}


def throughput(b, srv):
    a, out = b.a, {}
    b.fetch(srv)  # warm-up: page cache, Dovecot's index and cache files
    best_meta = best_body = None
    cpu_meta = cpu_all = 0.0
    for _ in range(a.passes):
        c0 = cpu_seconds(srv.pid)
        r = b.fetch(srv, "--no-body")
        c1 = cpu_seconds(srv.pid)
        cpu_meta += c1 - c0
        best_meta = r if best_meta is None or r["meta"]["seconds"] < best_meta["meta"]["seconds"] else best_meta
        r = b.fetch(srv)
        cpu_all += cpu_seconds(srv.pid) - c1
        best_body = r if best_body is None or r["body"]["seconds"] < best_body["body"]["seconds"] else best_body
    n = a.passes * a.messages
    out["fetch_meta"] = {"msgs_per_s": best_meta["meta"]["msgs_per_s"], "cpu_us_per_msg": cpu_meta / n * 1e6}
    out["fetch_body"] = {"msgs_per_s": best_body["body"]["msgs_per_s"], "mib_per_s": best_body["body"]["mib_per_s"],
                         "cpu_us_per_msg": max(0.0, cpu_all - cpu_meta) / n * 1e6}
    out["normal_client"] = {"meta_ms": best_body["meta"]["seconds"] * 1e3,
                            "batch_p50_ms": best_body["body"]["batch_latency_ms"]["p50"],
                            "batch_p99_ms": best_body["body"]["batch_latency_ms"]["p99"]}
    c0 = cpu_seconds(srv.pid)
    r = b.fetch(srv, "--sessions", str(a.fetch_sessions))
    out["fetch_parallel"] = {"sessions": a.fetch_sessions, "meta_msgs_per_s": r["meta"]["msgs_per_s"],
                             "body_msgs_per_s": r["body"]["msgs_per_s"], "body_mib_per_s": r["body"]["mib_per_s"],
                             "cpu_us_per_msg": (cpu_seconds(srv.pid) - c0) / (a.fetch_sessions * a.messages) * 1e6}
    c0 = cpu_seconds(srv.pid)
    r = b.run(srv, "append", "append%d@" + DOMAIN, "--sessions", str(a.append_sessions), "--users",
              str(a.append_sessions), "--messages", str(a.append), "--size", str(a.size))
    cpu = cpu_seconds(srv.pid) - c0
    stored = 0
    for i in range(a.append_sessions):  # an independent check: what the server says it holds
        with imaplib.IMAP4("127.0.0.1", srv.port, timeout=60) as m:
            m.login(f"append{i}@{DOMAIN}", PASSWORD)
            typ, data = m.status("INBOX", "(MESSAGES)")
            stored += int(data[0].decode().split("MESSAGES")[1].strip(" )"))
    if r["appends"] != a.append or stored != a.append:
        raise SystemExit(f"{srv.name}: APPEND: {r['appends']} acknowledged, {stored} stored, wanted {a.append}")
    out["append"] = {"appends_per_s": r["appends_per_s"], "p50_ms": r["latency_ms"]["p50"],
                     "p99_ms": r["latency_ms"]["p99"], "literal_plus": r["literal_plus"],
                     "cpu_us_per_append": cpu / a.append * 1e6}
    log_pos = srv.log.stat().st_size if hasattr(srv, "log") and srv.log.exists() else 0
    try:
        r = b.run(srv, "idle-latency", "lat%d@" + DOMAIN, "--sessions", str(2 * a.latency_users), "--users",
                  str(a.latency_users), "--messages", str(a.probes), *srv.deliver_args())
    finally:
        if hasattr(srv, "log") and srv.log.exists():
            with open(srv.log, "rb") as f:
                f.seek(log_pos)
                if b"Inotify instance limit" in f.read():
                    # Dovecot then polls every 30 s: no figure of its IDLE latency.
                    print(f"  {srv.name}: Dovecot ran out of inotify instances (fs.inotify.max_user_instances is "
                          "per uid, shared with every Dovecot on this machine): IDLE latency not measurable",
                          flush=True)
    out["idle_latency"] = {"probes": r["probes"], "notifications": r["notifications"],
                           "p50_ms": r["notify_ms"]["p50"], "p99_ms": r["notify_ms"]["p99"],
                           "max_ms": r["notify_ms"]["max"], "delivery_p50_ms": r["delivery_ms"]["p50"]}
    return out


def run_server(name, b, tmp, users, src, cert):
    a = b.a
    work = tmp / name
    work.mkdir()
    hibernate = 2 if name == "dovecot-hibernate" else 0

    def start():
        if name == "ringmta":
            return Ringmta(a.build, work, users, src, cert, a.ringmta_extra.read_text() if a.ringmta_extra else "")
        srv = Dovecot(work, users, src, cert, hibernate)
        srv.name = name
        return srv

    res = {"idle": []}
    per_conn = 0.0
    for count in a.idle:
        for tls in (False, True):
            need_kb = per_conn * 1.3 * count  # from the smaller count measured before
            if need_kb > 0.6 * mem_available_kb():
                print(f"  {name}: {count} idle sessions skipped: would need ~{need_kb / 1048576:.1f} GiB", flush=True)
                continue
            srv = start()
            try:
                m = idle_memory(b, srv, count, tls, a.beside and count == max(a.idle) and not tls, hibernate)
            finally:
                srv.stop()
            per_conn = max(per_conn, m["pss_kib_per_conn"])  # PSS: RSS counts shared pages once per process
            res["idle"].append(m)
            print(f"  {name}: {count} IDLE {'TLS' if tls else 'plain'}: {m['pss_kib_per_conn']:.1f} KiB PSS/conn",
                  flush=True)
    if not hibernate:
        srv = start()
        try:
            res.update(throughput(b, srv))
        finally:
            srv.stop()
    if name == "dovecot":
        shutil.rmtree(work / "mail", ignore_errors=True)
    return res


def table(a, results):
    names = list(results)
    rows = []

    def row(label, get, better="low"):
        vals = []
        for n in names:
            try:
                vals.append(get(results[n]))
            except (KeyError, IndexError, TypeError, StopIteration):
                vals.append(None)
        rows.append((label, vals, better))

    counts = sorted({m["sessions"] for r in results.values() for m in r["idle"]})
    for count in counts:
        for tls in (False, True):
            pick = lambda r, c=count, t=tls: next(m for m in r["idle"] if m["sessions"] == c and m["tls"] == t)
            kind = "TLS" if tls else "plain"
            row(f"idle IDLE conn x{count} {kind}: KiB PSS/conn", lambda r, p=pick: p(r)["pss_kib_per_conn"])
            row(f"idle IDLE conn x{count} {kind}: KiB RSS/conn", lambda r, p=pick: p(r)["rss_kib_per_conn"])
            row(f"login+SELECT+IDLE x{count} {kind}: CPU ms/conn", lambda r, p=pick: p(r)["cpu_ms_per_login"])
            row(f"  server processes with x{count} {kind}", lambda r, p=pick: p(r)["server_processes"])
    row("FETCH FLAGS ENVELOPE BODYSTRUCTURE: msgs/s", lambda r: r["fetch_meta"]["msgs_per_s"], "high")
    row("  server CPU us/msg", lambda r: r["fetch_meta"]["cpu_us_per_msg"])
    row("full-body UID FETCH: msgs/s", lambda r: r["fetch_body"]["msgs_per_s"], "high")
    row("full-body UID FETCH: MiB/s", lambda r: r["fetch_body"]["mib_per_s"], "high")
    row("  server CPU us/msg", lambda r: r["fetch_body"]["cpu_us_per_msg"])
    row(f"fetch, {a.fetch_sessions} sessions at once: body msgs/s", lambda r: r["fetch_parallel"]["body_msgs_per_s"],
        "high")
    row(f"APPEND {a.size} B, {a.append_sessions} sessions: appends/s", lambda r: r["append"]["appends_per_s"], "high")
    row("  APPEND p99 ms", lambda r: r["append"]["p99_ms"])
    row("  server CPU us/append", lambda r: r["append"]["cpu_us_per_append"])
    row("IDLE notify latency p50 ms", lambda r: r["idle_latency"]["p50_ms"])
    row("IDLE notify latency p99 ms", lambda r: r["idle_latency"]["p99_ms"])
    big = max(a.idle)
    side = lambda r: next(m for m in r["idle"] if m["sessions"] == big and not m["tls"])["beside_fetch"]
    row("normal client, alone: metadata FETCH ms", lambda r: r["normal_client"]["meta_ms"])
    row(f"  beside {big} IDLE: metadata FETCH ms", lambda r: side(r)["meta"]["seconds"] * 1e3)
    row("normal client, alone: body batch p99 ms", lambda r: r["normal_client"]["batch_p99_ms"])
    row(f"  beside {big} IDLE: body batch p99 ms", lambda r: side(r)["body"]["batch_latency_ms"]["p99"])

    both = "dovecot" in names and "ringmta" in names
    width = max(len(r[0]) for r in rows) + 2
    print(f"\nIMAP, {a.messages} messages (~{a.size} B; {a.bytes / 1048576:.1f} MiB as CRLF) in one INBOX, "
          "loopback, same machine, same run:")
    print(" " * width + "".join(f"{n:>18s}" for n in names) + ("   ringmta vs dovecot" if both else ""))
    for label, vals, better in rows:
        if all(v is None for v in vals):
            continue
        line = f"{label:<{width}s}" + "".join(f"{v:18.1f}" if v is not None else f"{'-':>18s}" for v in vals)
        d, r = (vals[names.index("dovecot")], vals[names.index("ringmta")]) if both else (None, None)
        if d and r:
            line += f"   {r / d:.2f}x" if better == "high" else f"   1/{d / r:.1f}"
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--servers", default="dovecot,ringmta",
                    help="comma-separated: dovecot, ringmta, dovecot-hibernate (default dovecot,ringmta)")
    ap.add_argument("--messages", type=int, default=10000)
    ap.add_argument("--size", type=int, default=4096, help="approximate message size (fetch) and APPEND size")
    ap.add_argument("--idle", default="1000,10000", help="idle connection counts (default 1000,10000)")
    ap.add_argument("--no-beside", dest="beside", action="store_false",
                    help="no normal-client fetch beside the largest idle crowd")
    ap.add_argument("--passes", type=int, default=3, help="measured fetch passes (the best is reported)")
    ap.add_argument("--batch", type=int, default=100, help="messages per BODY.PEEK[] command")
    ap.add_argument("--fetch-sessions", type=int, default=4)
    ap.add_argument("--append", type=int, default=2000, help="APPENDs in total")
    ap.add_argument("--append-sessions", type=int, default=4)
    ap.add_argument("--latency-users", type=int, default=5, help="users with two IDLE sessions each")
    ap.add_argument("--probes", type=int, default=100, help="deliveries for the IDLE latency")
    ap.add_argument("--quick", action="store_true", help="tiny counts: a smoke run (ctest)")
    ap.add_argument("--build", default=str(Path(__file__).resolve().parent.parent / "build"))
    ap.add_argument("--bench", type=Path, help="the ringmta-bench to use (default BUILD/ringmta-bench)")
    ap.add_argument("--ringmta-extra", type=Path, help="TOML appended to ringmta's generated config")
    ap.add_argument("--time-limit", type=int, default=3600, help="for the whole run")
    ap.add_argument("--step-limit", type=int, default=600, help="for each tool run")
    ap.add_argument("--json-out", type=Path, help="write every figure as JSON here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs) and print it")
    a = ap.parse_args()
    if a.quick:
        a.messages, a.size, a.idle, a.passes, a.fetch_sessions = 300, 2048, "30", 1, 2
        a.append, a.append_sessions, a.latency_users, a.probes, a.step_limit = 60, 2, 2, 5, 60
    a.idle = sorted({int(x) for x in a.idle.split(",") if x.strip()})
    servers = [s.strip() for s in a.servers.split(",") if s.strip()]
    if not servers or any(s not in ("dovecot", "ringmta", "dovecot-hibernate") for s in servers):
        raise SystemExit("--servers: dovecot, ringmta, dovecot-hibernate")
    if not (1 <= a.messages <= 200000 and 200 <= a.size <= 10 << 20 and a.idle and 1 <= min(a.idle)
            and max(a.idle) <= 50000 and 1 <= a.passes <= 20 and 1 <= a.fetch_sessions <= 64
            and 1 <= a.append <= 10 ** 6 and 1 <= a.append_sessions <= 256 and 1 <= a.latency_users <= 500
            and 1 <= a.probes <= 10000):
        raise SystemExit("a count is out of range (see --help)")
    if any(s.startswith("dovecot") for s in servers) and not (
            Path("/usr/sbin/dovecot").exists() and Path("/usr/lib/dovecot/imap").exists()):
        print("imap_compare: skipped: needs Dovecot's IMAP server (apt-get install dovecot-imapd dovecot-lmtpd)")
        sys.exit(77)
    if os.geteuid() != 0:
        print("imap_compare: skipped: needs root (Dovecot's mail processes run as nobody)")
        sys.exit(77)
    if not (a.bench or Path(a.build) / "ringmta-bench").exists():
        raise SystemExit(f"no {a.bench or Path(a.build) / 'ringmta-bench'}: build it first")
    if "ringmta" in servers and not (Path(a.build) / "ringmtactl").exists():
        raise SystemExit(f"no {a.build}/ringmtactl: build ringmta and ringmtactl first")
    # 10,000 connections: descriptors for the client, Dovecot's login processes and ringmta (children inherit).
    want = max(65536, 4 * max(a.idle) + 1024)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:  # Dovecot: one imap process per connection, all as nobody
        resource.setrlimit(resource.RLIMIT_NPROC, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    except (ValueError, OSError):
        pass
    signal.alarm(a.time_limit)  # the whole run is bounded
    tmp = Path(tempfile.mkdtemp(prefix="imap-bench-"))
    os.chmod(tmp, 0o755)  # Dovecot's mail processes run as nobody
    if a.keep:
        print(f"work directory: {tmp}", flush=True)
    results = {}
    try:
        src = tmp / "src" / "Maildir"
        a.bytes = make_maildir(src, a.messages, a.size)
        users = ([f"fetch@{DOMAIN}"] + [f"append{i}@{DOMAIN}" for i in range(a.append_sessions)] +
                 [f"lat{i}@{DOMAIN}" for i in range(a.latency_users)] + [f"idle{i}@{DOMAIN}" for i in range(max(a.idle))])
        cert = make_cert(tmp)
        for name in servers:
            print(f"{name}:", flush=True)
            results[name] = run_server(name, Bench(a), tmp, users, src, cert)
            if a.json_out:  # after every server: a later failure keeps what was measured
                a.json_out.write_text(json.dumps({"messages": a.messages, "size": a.size, "bytes": a.bytes,
                                                  "results": results}, indent=1))
    finally:
        if not a.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    table(a, results)


if __name__ == "__main__":
    main()
