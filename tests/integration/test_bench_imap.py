"""tests/integration/test_bench_imap.py — `ringmta-bench imap` against a real
private Dovecot (bench/imap_servers.py), its counts cross-checked with Python's
imaplib: what the tool says it fetched, appended and saw notified must be what
the server holds. Until ringmta has an IMAP server, Dovecot is the only server
these can run against; they skip without dovecot-imapd/dovecot-lmtpd or root.
No assertion on timings.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import dead_port, find_binary

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH_DIR))
from imap_servers import DOMAIN, PASSWORD, Dovecot, make_cert, make_maildir  # noqa: E402

import imaplib  # noqa: E402
import tempfile  # noqa: E402

MESSAGES = 120


@pytest.fixture(scope="module")
def dovecot():
    if not (Path("/usr/sbin/dovecot").exists() and Path("/usr/lib/dovecot/imap").exists()
            and Path("/usr/lib/dovecot/lmtp").exists()):
        pytest.skip("Dovecot IMAP/LMTP not installed (Debian dovecot-imapd, dovecot-lmtpd; scripts/setup.sh)")
    if os.geteuid() != 0:
        pytest.skip("needs root: Dovecot's mail processes run as nobody")
    # Not pytest's tmp_path: its parents are mode 0700, and Dovecot's auth and
    # mail processes (users dovecot, nobody) must reach the files.
    tmp = Path(tempfile.mkdtemp(prefix="imapbench-"))
    os.chmod(tmp, 0o755)
    src = tmp / "src" / "Maildir"
    total = make_maildir(src, MESSAGES, 3000)
    users = [f"fetch@{DOMAIN}", f"append0@{DOMAIN}", f"append1@{DOMAIN}"] + [f"lat{i}@{DOMAIN}" for i in range(3)]
    (tmp / "dv").mkdir()
    try:
        srv = Dovecot(tmp / "dv", users, src, make_cert(tmp))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    srv.total_bytes = total
    try:
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def bench(srv, *args, tls=False, expect_rc=0, login=f"fetch@{DOMAIN}:{PASSWORD}"):
    port = srv.tls_port if tls else srv.port
    cp = subprocess.run([str(find_binary("ringmta-bench", "RINGMTA_BENCH_BIN")), "imap", "--target",
                         f"127.0.0.1:{port}", "--login", login, "--json", "--time-limit", "60",
                         *(["--tls"] if tls else []), *args],
                        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert expect_rc is None or cp.returncode == expect_rc, (cp.returncode, cp.stdout, cp.stderr)
    return json.loads(cp.stdout) if cp.stdout.strip() else None


def imap_login(srv, user):
    m = imaplib.IMAP4("127.0.0.1", srv.port, timeout=30)
    m.login(user, PASSWORD)
    return m


def message_count(srv, user):
    with imap_login(srv, user) as m:
        typ, data = m.status("INBOX", "(MESSAGES)")
        assert typ == "OK"
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


@pytest.mark.parametrize("tls", [False, True])
def test_fetch_counts_every_message_and_byte(dovecot, tls):
    with imap_login(dovecot, f"fetch@{DOMAIN}") as m:
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("1:*", "(RFC822.SIZE)")
        sizes = [int(re.search(rb"RFC822.SIZE (\d+)", d).group(1)) for d in data if d]
    assert len(sizes) == MESSAGES and sum(sizes) == dovecot.total_bytes
    r = bench(dovecot, "--mode", "fetch", "--sessions", "3", "--batch", "7", tls=tls)
    assert r["ok"] and r["failures"] == 0 and r["mismatches"] == 0
    assert r["expected_messages"] == r["meta"]["messages"] == r["body"]["messages"] == 3 * MESSAGES
    assert r["body"]["bytes"] == 3 * sum(sizes)
    assert r["body"]["batch_latency_ms"]["count"] == 3 * -(-MESSAGES // 7)  # batches of 7, last one short
    assert r["meta"]["latency_ms"]["count"] == 3


def test_fetch_no_body_skips_the_body_pass(dovecot):
    r = bench(dovecot, "--mode", "fetch", "--no-body")
    assert r["meta"]["messages"] == MESSAGES and r["body"]["messages"] == 0 and r["body"]["bytes"] == 0


@pytest.mark.parametrize("sync", [False, True])
def test_append_stores_what_it_reports(dovecot, sync):
    user = "append1" if sync else "append0"
    before = message_count(dovecot, f"{user}@{DOMAIN}")
    r = bench(dovecot, "--mode", "append", "--sessions", "2", "--messages", "25", "--size", "1500",
              *(["--no-literal-plus"] if sync else []), login=f"{user}@{DOMAIN}:{PASSWORD}")
    assert r["ok"] and r["appends"] == 25 and r["bytes"] == 25 * 1500
    assert r["literal_plus"] is (not sync)  # Dovecot offers LITERAL+
    assert message_count(dovecot, f"{user}@{DOMAIN}") == before + 25
    with imap_login(dovecot, f"{user}@{DOMAIN}") as m:
        m.select("INBOX", readonly=True)
        typ, data = m.fetch("*", "(RFC822.SIZE FLAGS)")
        assert b"RFC822.SIZE 1500" in data[0] and b"\\Seen" in data[0]


def test_idle_latency_sees_every_delivery_in_every_session(dovecot):
    r = bench(dovecot, "--mode", "idle-latency", "--sessions", "6", "--users", "3", "--messages", "4",
              "--interval", "0", "--notify-timeout", "3", *dovecot.deliver_args(),
              login=f"lat%d@{DOMAIN}:{PASSWORD}", expect_rc=None)
    if r["missed"] and b"Inotify instance limit" in (dovecot.work / "dovecot.log").read_bytes():
        # The per-uid inotify instances (128 by default) are shared by every Dovecot
        # mail process running as nobody on this machine: another Dovecot with many
        # IDLE sessions leaves ours polling every 30 s. The machine, not the tool.
        pytest.skip("Dovecot could not get an inotify instance (fs.inotify.max_user_instances used up)")
    assert r["ok"] and r["idle_reached"] == 6 and r["probes"] == 4
    assert r["notifications"] == 24 and r["missed"] == 0
    assert r["delivery_ms"]["count"] == 4
    for i in range(3):  # each user got every probe once (one LMTP transaction, three recipients)
        assert message_count(dovecot, f"lat{i}@{DOMAIN}") >= 4


def test_idle_holds_and_logs_out(dovecot):
    r = bench(dovecot, "--mode", "idle", "--sessions", "5", "--users", "3", "--hold", "0.5",
              login=f"lat%d@{DOMAIN}:{PASSWORD}", tls=True)
    assert r["ok"] and r["idle_reached"] == 5 and r["failures"] == 0 and r["held_s"] >= 0.5


def test_failures_are_reported_not_hidden(dovecot):
    r = bench(dovecot, "--mode", "fetch", expect_rc=1, login=f"fetch@{DOMAIN}:wrong")
    assert not r["ok"] and r["failures"] == 1 and "AUTHENTICATIONFAILED" in r["first_error"]
    cp = subprocess.run([str(find_binary("ringmta-bench", "RINGMTA_BENCH_BIN")), "imap", "--target",
                         f"127.0.0.1:{dead_port()}", "--login", "a:b", "--json", "--sessions", "2",
                         "--time-limit", "20"], capture_output=True, text=True, timeout=60)
    r = json.loads(cp.stdout)
    assert cp.returncode == 1 and r["failures"] == 2 and "connect" in r["first_error"]
