"""tests/integration/pop3_fixtures.py — daemons with pop3 and pop3s listeners
for the POP3 tests: a users file (ringmtactl user add), messages put into the
store with tests/tools/mailbox_seed (the store's own API, run while the
daemon is stopped — local delivery over SMTP is another branch's work), and
poplib helpers (TLS without certificate checks: the daemon's certificate is
self-signed).
"""

import os
import poplib
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from auth_fixtures import make_users_file
from conftest import BUILD_DIR, free_port, port_open, render_toml

USERS = {"alice": "Alice-pw-1", "bob@local.test": "Bob-pw-2", "carol@local.test": "Carol-pw-3"}
DEAD_RELAYHOST = "[127.0.0.1]:9"


def seed_bin():
    explicit = os.environ.get("RINGMTA_MAILBOX_SEED_BIN")
    path = Path(explicit) if explicit else BUILD_DIR / "mailbox_seed"
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"mailbox_seed not built: {path} (cmake --build build --target mailbox_seed)")
    return path


def message(n, body_lines=(), subject=None):
    """A CRLF message; body_lines are added as they are (no dot-stuffing here)."""
    head = (f"From: sender{n}@example.org\r\nTo: someone@local.test\r\n"
            f"Subject: {subject or f'message {n}'}\r\nMessage-ID: <m{n}@example.org>\r\n\r\n")
    return (head + "".join(line + "\r\n" for line in body_lines)).encode()


# Lines POP3 must dot-stuff: a lone ".", leading dots, and ".." pairs.
TRICKY = message(0, ["first line", ".", "..", ".leading dot", "...three", "", "trailing spaces  ",
                     "\tTab", "last"])


def seed(daemon, user, messages, tmp_path):
    """Store `messages` (bytes) in user's INBOX; the daemon must be stopped."""
    assert not daemon.running()
    d = tmp_path / f"seed-{user}-{len(list(tmp_path.glob('seed-*')))}"
    d.mkdir()
    for i, m in enumerate(messages):
        (d / f"{i:06d}.eml").write_bytes(m)
    cp = subprocess.run([str(seed_bin()), str(daemon.data_dir), user, str(d)], capture_output=True, timeout=120)
    assert cp.returncode == 0, cp.stderr.decode(errors="replace")
    return [int(x) for x in cp.stdout.split()]


def pop3_daemon(daemon_factory, tmp_path, seeds=None, pop3=None, auth=None, limits=None, proxy=False):
    """A daemon with an smtp, a pop3 (STLS) and a pop3s listener; d.pop3_port,
    d.pop3s_port. seeds: {store user: [message bytes]} stored before start."""
    users = tmp_path / "users"
    if not users.exists():
        make_users_file(users, USERS)
    overrides = {"auth": {"users_file": str(users), "failure_delay": "0", **(auth or {})},
                 "delivery": {"relayhost": DEAD_RELAYHOST},
                 "mailbox": {"enabled": True}}
    if pop3:
        overrides["pop3"] = pop3
    if limits:
        overrides["limits"] = limits
    d = daemon_factory(overrides, start=False)
    d.pop3_port, d.pop3s_port = free_port(), free_port()
    d.settings["listener"].append({"address": f"127.0.0.1:{d.pop3_port}", "kind": "pop3",
                                   "proxy_protocol": proxy})
    d.settings["listener"].append({"address": f"127.0.0.1:{d.pop3s_port}", "kind": "pop3s"})
    d.config_path.write_text(render_toml(d.settings))
    for user, msgs in (seeds or {}).items():
        seed(d, user, msgs, tmp_path)
    start(d)
    return d


def start(d):
    """Daemon.start() waits for the smtp port; the POP3 listeners open just after it."""
    d.start()
    for port in (d.pop3_port, d.pop3s_port):
        for _ in range(200):
            if port_open(port):
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"POP3 port {port} never opened")


def insecure_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def stls_login(d, user, password, timeout=15):
    p = poplib.POP3("127.0.0.1", d.pop3_port, timeout=timeout)
    p.stls(insecure_context())
    p.user(user)
    p.pass_(password)
    return p


def pop3s(d, timeout=15):
    return poplib.POP3_SSL("127.0.0.1", d.pop3s_port, context=insecure_context(), timeout=timeout)


def retr_bytes(p, n):
    """RETR n as the exact stored octets (poplib undoes the dot-stuffing) and the announced size."""
    resp, lines, _ = p.retr(n)
    data = b"".join(line + b"\r\n" for line in lines)
    return data, int(resp.split()[1])
