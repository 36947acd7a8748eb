"""tests/integration/test_pop3_ops.py — the POP3 server's operating side:
SIGTERM with sessions open (no deletion applied, clean exit), kill -9 right
after QUIT (all of its deletions or none), the PROXY protocol on a pop3
listener, the connection limit, and the metrics a scrape shows.
Messages are stored with tests/tools/mailbox_seed (see pop3_fixtures.py).
"""

import poplib
import socket
import time

import pytest

from metrics_checks import parse, scrape, value
from pop3_fixtures import USERS, insecure_context, message, pop3_daemon, pop3s, retr_bytes, start, stls_login

ALICE = "alice@local.test"


def count_after_restart(d):
    p = pop3s(d)
    p.user("alice")
    p.pass_(USERS["alice"])
    uidls = [line.split()[1] for line in p.uidl()[1]]
    p.quit()
    return uidls


def test_sigterm_closes_sessions_without_deleting(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: [message(i) for i in range(3)]})
    p = stls_login(d, "alice", USERS["alice"])
    p.dele(1)
    p.dele(2)
    d.stop()  # SIGTERM: the idle session gets -ERR [SYS/TEMP] and is closed; exit code 0
    assert "pop3 logout user=alice@local.test" in d.log()
    with pytest.raises((poplib.error_proto, OSError, EOFError)):
        p.noop()
    start(d)
    assert len(count_after_restart(d)) == 3


def test_kill9_after_quit_applies_all_or_none(daemon_factory, tmp_path):
    n = 200
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: [message(i, ["x" * 70] * 20) for i in range(n)]})
    before = count_after_restart(d)
    with socket.create_connection(("127.0.0.1", d.pop3s_port), timeout=15) as raw:
        s = insecure_context().wrap_socket(raw)
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        cmds = b"USER alice\r\nPASS " + USERS["alice"].encode() + b"\r\n"
        cmds += b"".join(f"DELE {i}\r\n".encode() for i in range(1, n + 1, 2)) + b"QUIT\r\n"
        s.sendall(cmds)
        d.kill9()  # at once: QUIT's commit may or may not have reached the disk
    start(d)
    after = count_after_restart(d)
    assert after in (before, before[1::2]), (len(before), len(after))


def test_proxy_protocol_on_pop3(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: [message(1)]}, proxy=True,
                    pop3={"allow_plaintext_auth": True})
    with socket.create_connection(("127.0.0.1", d.pop3_port), timeout=15) as s:
        s.sendall(b"PROXY TCP4 192.0.2.7 127.0.0.1 40000 110\r\n")
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        s.sendall(b"USER alice\r\nPASS " + USERS["alice"].encode() + b"\r\nQUIT\r\n")
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK")
    log = d.wait_log("pop3 logout user=alice@local.test client=[192.0.2.7]")
    assert "pop3 login user=alice@local.test client=[192.0.2.7]" in log
    # No header: refused and logged, no greeting.
    with socket.create_connection(("127.0.0.1", d.pop3_port), timeout=15) as s:
        s.sendall(b"USER alice\r\n")
        assert s.recv(100) == b""
    d.wait_log("PROXY protocol: connection refused")


def test_connection_limit_applies(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, limits={"max_connections_per_ip": 2})
    # The start-up probe's slot may still be held for a moment: take two
    # greeted connections (bounded tries), then a third is refused.
    held = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", d.pop3_port), timeout=15)
        if s.makefile("rb").readline().startswith(b"+OK"):
            held.append(s)
            if len(held) == 2:
                break
        else:
            s.close()
            time.sleep(0.1)
    assert len(held) == 2
    with socket.create_connection(("127.0.0.1", d.pop3_port), timeout=15) as s:
        assert s.makefile("rb").readline().startswith(b"-ERR [SYS/TEMP]")
    for s in held:
        s.close()


def test_metrics_count_sessions_retrievals_and_bytes(daemon_factory, tmp_path):
    msgs = [message(i, ["y" * 50] * i) for i in range(4)]
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: msgs})
    sessions_before = value(parse(scrape(d)), "ringmta_pop3_sessions_total")  # the start-up port probes count
    p = stls_login(d, "alice", USERS["alice"])
    for i in range(len(msgs)):
        assert retr_bytes(p, i + 1)[0] == msgs[i]
    p.top(1, 0)  # TOP is not a retrieval
    p.quit()
    d.wait_log("pop3 logout user=alice@local.test")
    s = parse(scrape(d))
    assert value(s, "ringmta_pop3_sessions_total") == sessions_before + 1
    assert value(s, "ringmta_pop3_messages_retrieved_total") == len(msgs)
    assert value(s, "ringmta_pop3_bytes_sent_total") == sum(len(m) for m in msgs)
    assert value(s, "ringmta_pop3_logins_total", result="ok") == 1
    assert f"retr={len(msgs)} dele=0 bytes={sum(len(m) for m in msgs)}" in d.log()
