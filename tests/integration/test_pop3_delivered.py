"""tests/integration/test_pop3_delivered.py — the whole path of issue 16:
mail accepted over SMTP for local users, delivered into their mailboxes, and
fetched and deleted over POP3 by poplib, byte-exact. The stored message is
the accepted one with the relay's Received: field in front; POP3 serves
exactly those octets (its announced size included), and UIDLs are the same
in every session.
"""

import json
import smtplib
import subprocess
import time

from conftest import ringmtactl_bin
from metrics_checks import parse, scrape, value
from pop3_fixtures import USERS, pop3_daemon, retr_bytes, stls_login

MULTIPART = (b"From: sender@client.test\r\nTo: bob@local.test\r\nSubject: parts\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n"
             b"--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
             b"--b1\r\nContent-Type: application/octet-stream\r\n\r\nAAAA\r\n--b1--\r\n")
BODY = (b"From: sender@client.test\r\nTo: alice@local.test, bob@local.test\r\n"
        b"Subject: delivered over SMTP\r\n\r\n"
        b"line one\r\n.starts with a dot\r\n..two dots\r\n\r\nlast line\r\n")


def wait_stat(d, login, count, tries=600):
    """Log in until the maildrop holds `count` messages (delivery runs after
    the 250; bounded: tries x 50 ms plus the logins)."""
    for _ in range(tries):
        p = stls_login(d, login, USERS[login])
        if p.stat()[0] >= count:
            return p
        p.quit()
        time.sleep(0.05)
    raise AssertionError(f"{login}'s maildrop never reached {count} message(s)")


def test_smtp_delivery_fetched_and_deleted_over_pop3(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail("sender@client.test", ["alice@local.test", "bob@local.test"], BODY)

    uidls = {}
    for login in ("alice", "bob@local.test"):
        p = wait_stat(d, login, 1)
        data, size = retr_bytes(p, 1)
        assert size == len(data)
        assert data.startswith(b"Received: ")
        assert data.endswith(BODY), data[-200:]
        uidls[login] = p.uidl(1).split()[2]
        p.quit()

    # The same UIDL in a later session; DELE + QUIT removes it for that user only.
    p = stls_login(d, "alice", USERS["alice"])
    assert p.uidl(1).split()[2] == uidls["alice"]
    p.dele(1)
    p.quit()
    p = stls_login(d, "alice", USERS["alice"])
    assert p.stat()[0] == 0
    p.quit()
    p = stls_login(d, "bob@local.test", USERS["bob@local.test"])
    assert p.stat()[0] == 1
    p.quit()
    # The mailbox gauges: all users together, after alice's DELE.
    m = parse(scrape(d))
    size = len(data)  # bob's copy: the same bytes as alice's
    assert (value(m, "ringmta_mailbox_users"), value(m, "ringmta_mailbox_messages"),
            value(m, "ringmta_mailbox_bytes")) == (1, 1, size)


def test_mime_structure_is_stored_at_delivery(daemon_factory, tmp_path):
    """Local delivery parses the MIME structure once and stores it with the
    body (for IMAP): a plain message has one part, a multipart/mixed with two
    leaves three."""
    d = pop3_daemon(daemon_factory, tmp_path)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.sendmail("sender@client.test", ["bob@local.test"], BODY)
        s.sendmail("sender@client.test", ["bob@local.test"], MULTIPART)
    wait_stat(d, "bob@local.test", 2).quit()
    cp = subprocess.run([str(ringmtactl_bin()), "--data-dir", str(d.data_dir), "mailbox", "show",
                         "bob@local.test", "--json"], capture_output=True, timeout=60, check=True)
    [inbox] = [b for b in json.loads(cp.stdout)["mailboxes"] if b["name"] == "INBOX"]
    assert [m["mime_parts"] for m in inbox["list"]] == [1, 3]
