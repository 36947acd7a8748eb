"""tests/adversarial/test_auth_guessing.py — an attacker guessing passwords
with SMTP AUTH (issue 15, item 6).

What a guesser must not learn: whether a user name exists or is locked. An
unknown user, a wrong password for a real user and a locked user (its hash
behind "!", tried with the right password) get the very same reply, and each
costs the same hash work (unit-tested in tests/unit/auth/auth_dummy_test.cpp;
no timing is asserted here). What stops guessing is the lock-out rule as the
README and deploy/ringmta.toml describe it, tested here with max_failures = 3
and failure_delay = 0 (the delays n x failure_delay are unit-tested):
  * per client address: its 3rd failure answers 421 and closes, and further
    AUTH from that address gets 421 at once, even with a right password;
  * per user: the 3rd failure for one user (from any addresses) answers 421,
    but the user still logs in with its password from elsewhere;
  * IPv6 clients count by their /64 (over ::1 here: only one loopback
    address exists, so sharing a /64 between addresses is unit-tested).
Clients: smtplib and raw sockets from 127.0.0.x source addresses (only
127.0.0.1 is a trusted network in the test config).
"""

import base64
import os
import smtplib
import socket

import pytest

from auth_fixtures import USERS, auth_daemon
from conftest import RawSmtp, free_port, render_toml

BAD_REPLY = (535, b"5.7.8 Authentication credentials invalid")


def plain(user, password):
    return base64.b64encode(f"\0{user}\0{password}".encode()).decode()


def lock_user(d, name, hash_of):
    """Add `name` to the users file, locked ("!" before `hash_of`'s hash), as a
    new inode like ringmtactl writes it; the daemon re-reads it on the next AUTH."""
    text = d.users_file.read_text()
    [hash_] = [l.split(":")[1] for l in text.splitlines() if l.startswith(hash_of + ":")]
    tmp = d.users_file.with_name("users.tmp")
    tmp.write_text(text + f"{name}:!{hash_}\n")
    os.replace(tmp, d.users_file)


def smtplib_auth_plain(port, source, user, password):
    """One AUTH PLAIN attempt with smtplib; (code, message) of the reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0)) as s:
        s.ehlo("guesser.test")
        s.user, s.password = user, password
        try:
            code, msg = s.auth("PLAIN", s.auth_plain, initial_response_ok=True)
        except smtplib.SMTPAuthenticationError as e:
            return e.smtp_code, e.smtp_error
        except smtplib.SMTPServerDisconnected:
            return None, b"disconnected"
        return code, msg


@pytest.fixture
def guarded(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, auth={"max_failures": 3})
    lock_user(d, "carol", hash_of="alice")  # carol's hash is alice's, behind "!"
    return d


def test_unknown_wrong_and_locked_users_get_identical_replies(guarded):
    d = guarded
    # Each guess from its own address so no count reaches the limit.
    got = {
        "unknown user": smtplib_auth_plain(d.port, "127.0.0.2", "mallory", USERS["alice"]),
        "wrong password": smtplib_auth_plain(d.port, "127.0.0.3", "alice", "not-her-password"),
        "locked user": smtplib_auth_plain(d.port, "127.0.0.4", "carol", USERS["alice"]),
    }
    for what, reply in got.items():
        assert reply == BAD_REPLY, (what, reply)
    # The same with LOGIN over a raw socket, byte for byte.
    replies = []
    for i, (user, pw) in enumerate([("mallory", "x"), ("alice", "x"), ("carol", USERS["alice"])]):
        with RawSmtp(d.port, source=(f"127.0.0.{5 + i}", 0)) as c:
            c.greet_ehlo()
            c.expect("AUTH LOGIN", 334)
            c.expect(base64.b64encode(user.encode()).decode(), 334)
            replies.append(c.cmd(base64.b64encode(pw.encode()).decode()))
    assert replies == [(535, "5.7.8 Authentication credentials invalid")] * 3, replies
    # Only the log tells them apart (for the operator).
    log = d.wait_log("(locked user)")
    assert "user=<mallory> (unknown user)" in log
    assert "user=<carol> (locked user)" in log


def test_lock_out_per_client_address(guarded):
    d = guarded
    src = ("127.0.0.20", 0)
    with RawSmtp(d.port, source=src) as c:
        c.greet_ehlo()
        # Different users, so only the address's count reaches 3.
        assert c.cmd("AUTH PLAIN " + plain("u1", "x")) == (535, "5.7.8 Authentication credentials invalid")
        assert c.cmd("AUTH PLAIN " + plain("u2", "x")) == (535, "5.7.8 Authentication credentials invalid")
        code, text = c.cmd("AUTH PLAIN " + plain("u3", "x"))
        assert code == 421 and text.startswith("4.7.0"), (code, text)
        assert c.closed_by_peer()
    # The address stays refused, even with alice's right password...
    with RawSmtp(d.port, source=src) as c:
        c.greet_ehlo()
        code, text = c.cmd("AUTH PLAIN " + plain("alice", USERS["alice"]))
        assert code == 421, (code, text)
    d.wait_log("authentication refused: client=[127.0.0.20] user=<alice>: too many failures from this address")
    # ...while alice logs in from another one.
    assert smtplib_auth_plain(d.port, "127.0.0.21", "alice", USERS["alice"])[0] == 235


def test_lock_out_per_user_never_locks_the_real_user_out(guarded):
    d = guarded
    user = "bob@client.test"
    assert smtplib_auth_plain(d.port, "127.0.0.30", user, "guess1") == BAD_REPLY
    assert smtplib_auth_plain(d.port, "127.0.0.31", user, "guess2") == BAD_REPLY
    # The user's 3rd failure, from a third address: 421 and closed.
    with RawSmtp(d.port, source=("127.0.0.32", 0)) as c:
        c.greet_ehlo()
        code, text = c.cmd("AUTH PLAIN " + plain(user, "guess3"))
        assert code == 421 and text.startswith("4.7.0"), (code, text)
        assert c.closed_by_peer()
    # The real bob, from his own address, still gets in (and that resets his count).
    assert smtplib_auth_plain(d.port, "127.0.0.33", user, USERS[user])[0] == 235
    assert smtplib_auth_plain(d.port, "127.0.0.34", user, "guess4") == BAD_REPLY


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback (::1) on this host")
def test_lock_out_over_ipv6_counts_the_slash64(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, auth={"max_failures": 3}, start=False)
    port6 = free_port()
    d.settings["listener"].append({"address": f"[::1]:{port6}", "kind": "smtp", "allow_plaintext_auth": True})
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    with RawSmtp(port6, host="::1") as c:
        c.greet_ehlo()
        assert c.cmd("AUTH PLAIN " + plain("u1", "x"))[0] == 535
        assert c.cmd("AUTH PLAIN " + plain("u2", "x"))[0] == 535
        assert c.cmd("AUTH PLAIN " + plain("u3", "x"))[0] == 421
    with RawSmtp(port6, host="::1") as c:
        c.greet_ehlo()
        assert c.cmd("AUTH PLAIN " + plain("alice", USERS["alice"]))[0] == 421
    # The log names the /64 the failures count under.
    log = d.wait_log("authentication refused: client=[::1] user=<alice>: too many failures from ::/64")
    assert "client=[::1] user=<u3> (unknown user): 3 failure(s) from ::/64, 1 for this user" in log
    # IPv4 clients are not in that /64's count.
    assert smtplib_auth_plain(d.port, "127.0.0.2", "alice", USERS["alice"])[0] == 235
