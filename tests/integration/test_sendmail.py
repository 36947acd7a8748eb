"""tests/integration/test_sendmail.py — ringmta-sendmail, the sendmail(1) entry point.

A message piped into `ringmta-sendmail --config ringmta.toml ...` is submitted
over SMTP to the running daemon, which delivers it to a real SMTP server on
loopback (aiosmtpd recorder for dest.test, found through dnsmasq). Checked:
-t takes To/Cc/Bcc and removes Bcc, -i keeps a lone "." line, without -i that
line ends the message, explicit recipients and -f, and sendmail's exit codes
(EX_USAGE 64, EX_TEMPFAIL 75 when the daemon is not running).
"""

import subprocess

from conftest import find_binary
from delivery_checks import SENDER, queue_empty, wait_for
from delivery_fixtures import dns_zone, mx_port, relay, remote  # noqa: F401 - fixtures

TIMEOUT = 20.0
EX_USAGE, EX_TEMPFAIL = 64, 75


def sendmail(d, args, data):
    exe = find_binary("ringmta-sendmail", "RINGMTA_SENDMAIL_BIN")
    return subprocess.run([str(exe), "--config", str(d.config_path), *args], input=data,
                          capture_output=True, timeout=60)


def test_t_takes_header_recipients_and_removes_bcc(relay, remote):
    mx = remote("127.0.0.2")
    d = relay()
    message = (b"From: Alice <alice@sender.test>\n"
               b"To: To Person <to@dest.test>, \"Cc, Quoted\" <also-to@dest.test>\n"
               b"Cc: cc@dest.test\n"
               b"Bcc: hidden@dest.test\n"
               b"Subject: piped with -t\n"
               b"\n"
               b"first line\n"
               b".\n"
               b"after the dot\n")
    cp = sendmail(d, ["-t", "-i", "-f", SENDER], message)
    assert cp.returncode == 0, cp.stderr
    wait_for(lambda: len(mx.delivered_rcpts()) >= 4, TIMEOUT, "four recipients delivered", d)
    [m] = mx.messages()
    assert m["mail_from"] == SENDER
    assert sorted(m["rcpt_tos"]) == sorted(["to@dest.test", "also-to@dest.test", "cc@dest.test",
                                            "hidden@dest.test"]), m["rcpt_tos"]
    data = m["data"]
    assert b"Bcc:" not in data and b"hidden@dest.test" not in data, data
    assert b"Subject: piped with -t\r\n" in data
    # -i: the lone dot is message content (it arrives dot-unstuffed), not the end.
    assert b"\r\nfirst line\r\n.\r\nafter the dot\r\n" in data, data
    assert b"Date: " in data and b"Message-ID: " in data, "added when missing"
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)


def test_explicit_recipients_and_lone_dot_ends_without_i(relay, remote):
    mx = remote("127.0.0.2")
    d = relay()
    message = b"Subject: explicit\n\nkept\n.\nnot part of the message\n"
    cp = sendmail(d, ["-f", SENDER, "one@dest.test", "two@dest.test"], message)
    assert cp.returncode == 0, cp.stderr
    wait_for(lambda: len(mx.delivered_rcpts()) >= 2, TIMEOUT, "two recipients delivered", d)
    [m] = mx.messages()
    assert sorted(m["rcpt_tos"]) == ["one@dest.test", "two@dest.test"]
    assert b"\r\nkept\r\n" in m["data"] and b"not part of the message" not in m["data"], m["data"]
    assert b"From: alice@sender.test\r\n" in m["data"], "From: added from -f"


def test_exit_codes(relay):
    d = relay()
    cp = sendmail(d, ["-t"], b"Subject: nobody to send to\n\nx\n")
    assert cp.returncode == EX_USAGE and b"no recipient addresses found" in cp.stderr, cp
    cp = sendmail(d, ["-bs"], b"")
    assert cp.returncode == EX_USAGE and b"unsupported option -bs" in cp.stderr, cp
    d.stop()
    cp = sendmail(d, ["-f", SENDER, "x@dest.test"], b"Subject: daemon down\n\nx\n")
    assert cp.returncode == EX_TEMPFAIL and b"cannot connect to ringmta" in cp.stderr, cp
