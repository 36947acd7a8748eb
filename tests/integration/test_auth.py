"""tests/integration/test_auth.py — SMTP AUTH against the real daemon.

Real clients: swaks (--auth PLAIN / LOGIN, with and without TLS), Python's
smtplib.login, and a raw socket where exact replies matter. The users file is
written by `ringmtactl user add` (yescrypt); one test uses SHA-512-crypt and a
Dovecot-style "{SHA512-CRYPT}" line. Untrusted clients connect from 127.0.0.2
(the test config trusts only 127.0.0.1/32). Relayed mail goes to a dead
relayhost on loopback, so nothing leaves the machine.
"""

import base64
import smtplib
import subprocess
import time
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # removed in 3.13; Debian 12 has 3.11
    import crypt  # only makes a SHA-512-crypt test hash

import pytest

from auth_fixtures import USERS, auth_daemon, ctl_user
from conftest import RawSmtp, make_message, queue_id_of

UNTRUSTED = ("127.0.0.2", 0)


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def swaks(port, *extra):
    cmd = ["swaks", "--server", f"127.0.0.1:{port}", "--local-interface", "127.0.0.2",
           "--from", "alice@client.test", "--to", "friend@elsewhere.example",
           "--helo", "client.test", "--timeout", "20", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("mech", ["PLAIN", "LOGIN"])
def test_swaks_auth_relays(daemon_factory, tmp_path, mech):
    d = auth_daemon(daemon_factory, tmp_path)
    cp = swaks(d.port, "--auth", mech, "--auth-user", "alice", "--auth-password", USERS["alice"])
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "235 2.7.0" in cp.stdout
    qid = queue_id_of(cp.stdout)
    [m] = d.queue_list_json()
    assert m["id"] == qid and m["recipients"] == ["friend@elsewhere.example"]
    stored = d.queue_cat(qid).decode()
    assert "with ESMTPA id " + qid in stored.split("\r\n\r\n")[0].replace("\r\n\t", " ")
    assert USERS["alice"] not in d.log()  # never logged


def test_swaks_bad_password(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path)
    cp = swaks(d.port, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", "wrong-guess")
    assert cp.returncode != 0
    assert "535 5.7.8" in cp.stdout
    assert d.queue_ids() == []
    log = d.wait_log("authentication failed: client=[127.0.0.2] user=<alice>")
    assert "wrong-guess" not in log


def test_auth_not_offered_over_plaintext(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, plaintext=False)
    with RawSmtp(d.port, source=UNTRUSTED) as c:
        code, text = c.greet_ehlo()
        assert "AUTH" not in text.split("\n")
        assert not any(l.startswith("AUTH") for l in text.split("\n"))
        code, text = c.cmd("AUTH PLAIN " + plain("alice", USERS["alice"]))
        assert code == 538 and text.startswith("5.7.11"), text
        c.expect("MAIL FROM:<alice@client.test>", 250)
        code, text = c.cmd("RCPT TO:<friend@elsewhere.example>")
        assert code == 550 and text.startswith("5.7.1"), text


def test_smtplib_login_and_relay_policy(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path)
    # Unauthenticated from an untrusted address: local domains only.
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30, source_address=UNTRUSTED) as s:
        s.ehlo("client.test")
        assert "PLAIN" in s.esmtp_features.get("auth", "").split()
        assert s.mail("alice@client.test")[0] == 250
        code, resp = s.rcpt("friend@elsewhere.example")
        assert code == 550 and resp.startswith(b"5.7.1"), resp
        assert s.rcpt("postmaster@local.test")[0] == 250
        code, resp = s.data(make_message(1))
        assert code == 250, resp
    # Authenticated: anywhere.
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30, source_address=UNTRUSTED) as s:
        s.ehlo("client.test")
        code, resp = s.login("bob@client.test", USERS["bob@client.test"])
        assert code == 235, resp
        assert s.mail("bob@client.test")[0] == 250
        assert s.rcpt("friend@elsewhere.example")[0] == 250
        code, resp = s.data(make_message(2))
        assert code == 250, resp
        qid = queue_id_of(resp)
    recipients = {m["id"]: m["recipients"] for m in d.queue_list_json()}
    assert recipients[qid] == ["friend@elsewhere.example"]
    assert sorted(recipients.values()) == [["friend@elsewhere.example"], ["postmaster@local.test"]]


def test_failed_logins_are_throttled(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, auth={"failure_delay": "1s", "max_failures": 3})
    with RawSmtp(d.port, source=UNTRUSTED) as c:
        c.greet_ehlo()
        waits = []
        for _ in range(2):
            t0 = time.monotonic()
            code, text = c.cmd("AUTH PLAIN " + plain("alice", "guess"))
            waits.append(time.monotonic() - t0)
            assert code == 535 and text.startswith("5.7.8"), text
        # the n-th failure waits n x failure_delay (lower bounds only)
        assert waits[0] >= 0.9 and waits[1] >= 1.9, waits
        code, text = c.cmd("AUTH PLAIN " + plain("alice", "guess"))
        assert code == 421 and text.startswith("4.7.0"), text
        assert c.closed_by_peer()
    # The address is at its limit: even the right password is refused at once.
    with RawSmtp(d.port, source=UNTRUSTED) as c:
        c.greet_ehlo()
        code, text = c.cmd("AUTH PLAIN " + plain("alice", USERS["alice"]))
        assert code == 421, text
    # Another address: a correct login still works (no lock-out of the user)...
    with RawSmtp(d.port, source=("127.0.0.3", 0)) as c:
        c.greet_ehlo()
        assert c.cmd("AUTH PLAIN " + plain("alice", USERS["alice"]))[0] == 235
    d.wait_log("too many failures from this address")
    log = d.wait_log("authentication failed: client=[127.0.0.2] user=<alice>", count=3)
    assert log.count("authentication failed: client=[127.0.0.2] user=<alice>") == 3
    assert "guess" not in log


def test_users_file_changes_apply_without_restart(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path)

    def login(user, pw):
        with RawSmtp(d.port, source=UNTRUSTED) as c:
            c.greet_ehlo()
            return c.cmd("AUTH PLAIN " + plain(user, pw))[0]

    assert login("carol", "carol-pw") == 535
    cp = ctl_user("add", "carol", password="carol-pw", config=d.config_path)
    assert cp.returncode == 0, cp.stderr
    assert login("carol", "carol-pw") == 235
    assert ctl_user("passwd", "carol", password="new-pw", config=d.config_path).returncode == 0
    assert login("carol", "carol-pw") == 535
    assert login("carol", "new-pw") == 235
    assert ctl_user("del", "carol", config=d.config_path).returncode == 0
    assert login("carol", "new-pw") == 535
    assert login("alice", USERS["alice"]) == 235


def test_ringmtactl_user_errors(tmp_path):
    users = tmp_path / "users"
    assert ctl_user("passwd", "nobody", password="x", users_file=users).returncode == 1  # no file yet
    assert ctl_user("add", "dave", password="pw1", users_file=users).returncode == 0
    cp = ctl_user("add", "dave", password="pw2", users_file=users)
    assert cp.returncode == 1 and b"already exists" in cp.stderr
    cp = ctl_user("del", "erin", users_file=users)
    assert cp.returncode == 1 and b"no user 'erin'" in cp.stderr
    assert ctl_user("add", "bad:name", password="pw", users_file=users).returncode == 2
    assert ctl_user("add", "frank", password="", users_file=users).returncode == 2
    line = users.read_text().strip()
    assert line.startswith("dave:$y$") and "\n" not in line  # yescrypt, one line
    assert oct(users.stat().st_mode & 0o777) == "0o640"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".users.")]  # no temp left


def test_sha512_crypt_and_dovecot_lines(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, start=False)
    h = crypt.crypt("gina-pw", crypt.mksalt(crypt.METHOD_SHA512))
    assert h.startswith("$6$")
    with open(d.users_file, "a") as f:
        f.write("# a comment line\n")
        f.write(f"gina:{h}\n")
        f.write(f"hank:{{SHA512-CRYPT}}{h}:1000:1000::/home/hank::\n")  # Dovecot passwd-file
        f.write("ivan:plaintext-password\n")  # refused (logged), not fatal
    d.start()
    for user, pw, want in [("gina", "gina-pw", 235), ("hank", "gina-pw", 235), ("gina", "x", 535),
                           ("ivan", "plaintext-password", 535)]:
        with RawSmtp(d.port, source=UNTRUSTED) as c:
            c.greet_ehlo()
            assert c.cmd("AUTH PLAIN " + plain(user, pw))[0] == want, user
    assert "not plain text" in d.log()


def test_sender_login_match(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, auth={"sender_login_match": True}, start=False)
    text = d.users_file.read_text().replace("alice:", "alice:", 1)
    lines = [l + (":alice@client.test,@alice.example" if l.startswith("alice:") else "")
             for l in text.splitlines()]
    d.users_file.write_text("\n".join(lines) + "\n")
    d.start()
    with RawSmtp(d.port, source=UNTRUSTED) as c:
        c.greet_ehlo()
        c.expect("AUTH PLAIN " + plain("alice", USERS["alice"]), 235)
        code, text = c.cmd("MAIL FROM:<ceo@client.test>")
        assert code == 553 and text.startswith("5.7.1"), text
        c.expect("MAIL FROM:<Alice@Client.Test>", 250)
        c.expect("RSET", 250)
        c.expect("MAIL FROM:<anything@alice.example>", 250)
    with RawSmtp(d.port, source=UNTRUSTED) as c:  # the user name is its own address
        c.greet_ehlo()
        c.expect("AUTH PLAIN " + plain("bob@client.test", USERS["bob@client.test"]), 235)
        assert c.cmd("MAIL FROM:<alice@client.test>")[0] == 553
        c.expect("MAIL FROM:<bob@client.test>", 250)


def test_submission_requires_auth(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path,
                    extra_listeners=[{"kind": "submission", "allow_plaintext_auth": True}])
    port = d.extra_ports[0]
    with RawSmtp(port, source=UNTRUSTED) as c:
        c.greet_ehlo()
        code, text = c.cmd("MAIL FROM:<alice@client.test>")
        assert code == 530 and text.startswith("5.7.0"), text
        c.expect("AUTH PLAIN " + plain("alice", USERS["alice"]), 235)
        c.expect("MAIL FROM:<alice@client.test>", 250)
    # Trusted networks do not bypass it on submission.
    with RawSmtp(port) as c:
        c.greet_ehlo()
        assert c.cmd("MAIL FROM:<alice@client.test>")[0] == 530


def test_swaks_starttls_auth(daemon_factory, tmp_path):
    # A normal listener: AUTH only after STARTTLS (self-signed certificate).
    d = auth_daemon(daemon_factory, tmp_path, plaintext=False)
    cp = swaks(d.port, "--tls", "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", USERS["alice"])
    assert cp.returncode == 0, cp.stdout + cp.stderr
    qid = queue_id_of(cp.stdout)
    head = d.queue_cat(qid).decode().split("\r\n\r\n")[0].replace("\r\n\t", " ")
    assert "with ESMTPSA" in head, head
    # Without --tls swaks finds no AUTH and gives up.
    cp = swaks(d.port, "--auth", "PLAIN", "--auth-user", "alice", "--auth-password", USERS["alice"])
    assert cp.returncode != 0
