"""tests/integration/test_pop3.py — the POP3 server (access/pop3_session) with
Python's poplib against the real daemon over loopback: logins (USER/PASS
over STLS and pop3s, AUTH PLAIN), LIST/UIDL/RETR/TOP byte-exact (dot-stuffed
lines included), DELE + QUIT deletes, a dropped connection deletes nothing,
RSET, the maildrop lock, wrong passwords and throttling, concurrent users.
Messages are stored with tests/tools/mailbox_seed (see pop3_fixtures.py).
"""

import base64
import poplib
import socket
import threading

import pytest

from metrics_checks import parse, scrape, value
from pop3_fixtures import TRICKY, USERS, insecure_context, message, pop3_daemon, pop3s, retr_bytes, start, stls_login

ALICE = "alice@local.test"  # the login "alice" has no domain: the first local domain's


def test_stls_user_pass_list_uidl_retr_top(daemon_factory, tmp_path):
    msgs = [TRICKY, message(1, ["hello"] * 3), message(2, [f"line {i}" for i in range(2000)])]
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: msgs})
    p = stls_login(d, "alice", USERS["alice"])
    assert p.stat() == (3, sum(len(m) for m in msgs))
    _, listing, _ = p.list()
    assert listing == [f"{i + 1} {len(m)}".encode() for i, m in enumerate(msgs)]
    _, uidls, _ = p.uidl()
    ids = [line.split()[1] for line in uidls]
    assert len(set(ids)) == 3 and all(b"." in x for x in ids)
    for i, m in enumerate(msgs):
        data, size = retr_bytes(p, i + 1)
        assert data == m and size == len(m)
    _, top, _ = p.top(1, 2)
    head, body = TRICKY.split(b"\r\n\r\n", 1)
    assert b"".join(line + b"\r\n" for line in top) == head + b"\r\n\r\n" + b"".join(
        line + b"\r\n" for line in body.split(b"\r\n")[:2])
    assert p.quit().startswith(b"+OK")
    # UIDLs are stable: the same in the next session, and after a restart.
    d.stop()
    start(d)
    p = stls_login(d, "alice", USERS["alice"])
    assert [line.split()[1] for line in p.uidl()[1]] == ids
    p.quit()
    log = d.wait_log("pop3 logout user=alice@local.test", count=2)
    assert f"pop3 login user={ALICE} client=[127.0.0.1]" in log
    assert "retr=3 dele=0 bytes=" in log


def test_raw_retr_is_dot_stuffed(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: [TRICKY]}, pop3={"allow_plaintext_auth": True})
    with socket.create_connection(("127.0.0.1", d.pop3_port), timeout=15) as s:
        f = s.makefile("rb")
        assert f.readline().startswith(b"+OK")
        s.sendall(b"USER alice\r\nPASS " + USERS["alice"].encode() + b"\r\nRETR 1\r\nQUIT\r\n")  # pipelined
        assert f.readline().startswith(b"+OK")
        assert f.readline().startswith(b"+OK")
        assert f.readline() == f"+OK {len(TRICKY)} octets\r\n".encode()
        stuffed = b"".join((b"." + line if line.startswith(b".") else line) + b"\r\n"
                           for line in TRICKY[:-2].split(b"\r\n"))
        got = b""
        while not got.endswith(b"\r\n.\r\n"):
            chunk = f.readline()
            assert chunk, "connection closed inside RETR"
            got += chunk
        assert got == stuffed + b".\r\n"
        assert f.readline().startswith(b"+OK")


def test_pop3s_auth_plain_and_plaintext_refused(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={"bob@local.test": [message(1, ["x"])]})
    p = pop3s(d)
    token = base64.b64encode(b"\0bob@local.test\0" + USERS["bob@local.test"].encode()).decode()
    assert p._shortcmd("AUTH PLAIN " + token).startswith(b"+OK")
    assert p.stat() == (1, len(message(1, ["x"])))
    p.quit()
    # Without TLS (allow_plaintext_auth is false by default) no login.
    p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=15)
    assert "STLS" in p.capa()
    with pytest.raises(poplib.error_proto):
        p.user("bob@local.test")
        p.pass_(USERS["bob@local.test"])
    p.close()


def test_dele_quit_deletes_and_drop_deletes_nothing(daemon_factory, tmp_path):
    msgs = [message(i, [f"body {i}"]) for i in range(5)]
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: msgs})
    # DELE then drop the connection: nothing is deleted.
    p = stls_login(d, "alice", USERS["alice"])
    p.dele(1)
    p.dele(2)
    p.close()  # no QUIT
    p = _login_retry(d)
    assert p.stat()[0] == 5
    # RSET unmarks.
    p.dele(3)
    assert p.stat()[0] == 4
    p.rset()
    assert p.stat()[0] == 5
    # DELE + QUIT removes exactly the marked ones, the rest keep their UIDL.
    uidls = [line.split()[1] for line in p.uidl()[1]]
    p.dele(2)
    p.dele(4)
    assert p.quit().startswith(b"+OK")
    p = _login_retry(d)
    assert [line.split()[1] for line in p.uidl()[1]] == [uidls[0], uidls[2], uidls[4]]
    assert retr_bytes(p, 2)[0] == msgs[2]
    p.quit()
    d.wait_log("dele=2")
    samples = parse(scrape(d))
    assert value(samples, "ringmta_pop3_messages_deleted_total") == 2
    assert value(samples, "ringmta_pop3_logins_total", result="ok") >= 3


def _login_retry(d, user="alice", tries=50):
    """Log in once the previous session's lock is gone (it goes when that
    connection's close has been seen by the daemon)."""
    import time
    for _ in range(tries):
        p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=15)
        p.stls(insecure_context())
        p.user(user)
        try:
            p.pass_(USERS[user])
            return p
        except poplib.error_proto as e:
            assert b"[IN-USE]" in e.args[0], e
            p.close()
            time.sleep(0.1)
    pytest.fail("maildrop still locked")


def test_second_session_gets_in_use(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: [message(1)]})
    first = stls_login(d, "alice", USERS["alice"])
    second = poplib.POP3("127.0.0.1", d.pop3_port, timeout=15)
    second.stls(insecure_context())
    second.user("alice")
    with pytest.raises(poplib.error_proto) as e:
        second.pass_(USERS["alice"])
    assert e.value.args[0].startswith(b"-ERR [IN-USE]")
    second.close()
    first.quit()
    _login_retry(d).quit()
    assert value(parse(scrape(d)), "ringmta_pop3_logins_total", result="in_use") >= 1


def test_wrong_password_and_throttling(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: [message(1)]}, auth={"max_failures": 3})
    p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=15)
    p.stls(insecure_context())
    answers = []
    for _ in range(5):
        try:
            p.user("alice")
            p.pass_("wrong")
        except poplib.error_proto as e:
            answers.append(e.args[0])
            if b"[SYS/TEMP]" in e.args[0]:
                break
    assert answers[0].startswith(b"-ERR [AUTH]")
    assert answers[-1].startswith(b"-ERR [SYS/TEMP]")  # throttled: too many failures, and closed
    p.close()
    # The counters are the SMTP AUTH ones (per client): even the right password is refused now.
    p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=15)
    p.stls(insecure_context())
    p.user("alice")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_(USERS["alice"])
    assert b"[SYS/TEMP]" in e.value.args[0]
    samples = parse(scrape(d))
    assert value(samples, "ringmta_pop3_logins_total", result="invalid") >= 1
    assert value(samples, "ringmta_pop3_logins_total", result="throttled") >= 1


def test_concurrent_users(daemon_factory, tmp_path):
    users = {ALICE: ("alice", 30), "bob@local.test": ("bob@local.test", 20), "carol@local.test": ("carol@local.test", 25)}
    seeds = {u: [message(i, [f"{u} {i}"] * 50) for i in range(n)] for u, (_, n) in users.items()}
    d = pop3_daemon(daemon_factory, tmp_path, seeds=seeds)
    errors = []

    def fetch_all(store_user, login):
        try:
            p = pop3s(d)
            p.user(login)
            p.pass_(USERS[login])
            for i, m in enumerate(seeds[store_user]):
                assert retr_bytes(p, i + 1)[0] == m
                p.dele(i + 1)
            p.quit()
        except Exception as e:  # reported below with the user
            errors.append((store_user, repr(e)))

    threads = [threading.Thread(target=fetch_all, args=(u, login)) for u, (login, _) in users.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    for store_user, (login, _) in users.items():
        p = _login_retry(d, login)
        assert p.stat() == (0, 0)
        p.quit()


def test_login_without_mailbox_domain(daemon_factory, tmp_path):
    # A valid login whose domain is not local has no maildrop: [SYS/PERM].
    from auth_fixtures import make_users_file
    make_users_file(tmp_path / "users", {**USERS, "dave@elsewhere.test": "Dave-pw-4"})
    d = pop3_daemon(daemon_factory, tmp_path)
    p = pop3s(d)
    p.user("dave@elsewhere.test")
    with pytest.raises(poplib.error_proto) as e:
        p.pass_("Dave-pw-4")
    assert e.value.args[0].startswith(b"-ERR [SYS/PERM]")
