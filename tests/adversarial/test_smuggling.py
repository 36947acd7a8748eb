"""tests/adversarial/test_smuggling.py — canonical bodies out (SMTP smuggling).

The known smuggling endings (\\n.\\n, \\n.\\r\\n, \\r.\\r\\n, \\r\\n.\\r,
\\r\\n\\x00.\\r\\n), each followed by a forged second transaction, are sent to
ringmta by DATA and by BDAT. ringmta's rule is the same for both: a body with
a bare CR, a bare LF or a NUL is refused (554 5.6.0), so every queued body has
CRLF line ends only; the outbound encoder also turns any bare CR/LF into CRLF
and dot-stuffs every line start (tests/unit/smtp_client), so nothing it sends
can hold a "." line that is not the end of data.

Each attempt is followed, on the same connection, by one clean message to the
same recipient; the next hop — `ringmta-bench sink --record`, which takes a
bare LF as a line end and ".\\n" as the end of data (a lenient receiver, the
kind smuggling works against), getting DATA or BDAT — must see exactly one
message per attempt, the clean one, and never the forged sender. A body that
is canonical but full of "." lines and command text is accepted and must
arrive as exactly one message, byte for byte, at a ringmta next hop.
Postfix's smtpd is checked too when it is installed (a private instance, as in
tests/integration/test_delivery_chunking.py).
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import RawSmtp, dot_stuff, free_port, port_open, queue_id_of
from delivery_checks import wait_for, wait_lines
from test_bench_tools import Sink

TIMEOUT = 30.0
POSTFIX, POSTCONF = "/usr/sbin/postfix", "/usr/sbin/postconf"

ENDINGS = [b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\r", b"\r\n\x00.\r\n"]
EVIL = b"evil@smuggler.test"
FORGED = (b"MAIL FROM:<" + EVIL + b">\r\nRCPT TO:<victim@dest.test>\r\nDATA\r\n"
          b"From: ceo@dest.test\r\nSubject: forged\r\n\r\nforged\r\n")
# Canonical, accepted: "." lines, ".." lines and command text inside the body.
TRICKY = (b"From: a@client.test\r\nTo: r@dest.test\r\nSubject: dots\r\n\r\nhello\r\n.\r\n"
          + FORGED + b".\r\n..\r\n.\r\n\r\nQUIT\r\n")


def relay_to(daemon_factory, port, name=None, **delivery):
    return daemon_factory({"delivery": {"relayhost": f"[127.0.0.1]:{port}", "connect_timeout": "2s",
                                        "connection_idle_timeout": "1s", **delivery},
                           # Every refused attempt counts as an error; the test
                           # config's 5 would end the session half way.
                           "limits": {"max_errors": 50},
                           "metrics": {"listen": ""}}, name=name)


def send_body(c, method, body, rcpt):
    """MAIL, RCPT, then the body by DATA (dot-stuffed, as a client must) or by
    one BDAT LAST; returns the final reply."""
    c.expect("MAIL FROM:<a@client.test>", 250)
    c.expect(f"RCPT TO:<{rcpt}>", 250)
    if method == "DATA":
        c.expect("DATA", 354)
        # The smuggling bytes go as they are: only CRLF-terminated dot lines
        # are stuffed (the forged text ends in CRLF, so the end is ours).
        c.send(body + b".\r\n")
    else:
        c.send(b"BDAT %d LAST\r\n" % len(body) + body)
    return c.reply()


def smuggle_then_clean(port):
    """Every ending by DATA and by BDAT, each followed by a clean message to
    the same recipient. Returns the recipients of the clean messages."""
    rcpts = []
    with RawSmtp(port) as c:
        c.greet_ehlo()
        n = 0
        for method in ("DATA", "BDAT"):
            for ending in ENDINGS:
                rcpt = f"r{n}@dest.test"
                head = b"From: a@client.test\r\nTo: %s\r\nSubject: attempt %d\r\n\r\nhello" % (rcpt.encode(), n)
                code, text = send_body(c, method, head + ending + FORGED, rcpt)
                assert code == 554 and text.startswith("5.6.0"), (method, ending, code, text)
                clean = b"From: a@client.test\r\nSubject: clean %d\r\n\r\nclean\r\n" % n
                code, text = send_body(c, method, clean, rcpt)
                assert code == 250, (method, ending, code, text)
                rcpts.append(rcpt)
                n += 1
        assert c.cmd("QUIT")[0] == 221
    return rcpts


@pytest.mark.parametrize("next_hop_gets", ["DATA", "BDAT"])
def test_smuggling_endings_reach_the_next_hop_as_one_message(daemon_factory, tmp_path, next_hop_gets):
    sink = Sink(tmp_path, *(["--no-chunking"] if next_hop_gets == "DATA" else []))
    try:
        d = relay_to(daemon_factory, sink.port)
        rcpts = smuggle_then_clean(d.port)
        wait_lines(d, len(rcpts), timeout=TIMEOUT, status="sent")
        sink.stop()
        records = sink.records()
        # One message per attempt, the clean one; nothing forged.
        assert sorted(r["rcpts"][0] for r in records) == sorted(rcpts), records
        assert all(len(r["rcpts"]) == 1 and r["from"] == "a@client.test" for r in records), records
        assert {r["bdat"] for r in records} == {next_hop_gets == "BDAT"}, records
        assert {r["reply"] for r in records} == {250}
        assert d.queue_ids() == []
    finally:
        sink.kill()


@pytest.mark.parametrize("method", ["DATA", "BDAT"])
def test_dot_lines_leave_as_one_message(daemon_factory, tmp_path, method):
    """A canonical body with "." lines and command text, in by DATA or BDAT,
    out by DATA (sink --no-chunking and a ringmta next hop with chunking off)
    and by BDAT: one message each time, and byte-exact at the ringmta hop."""
    sink_data = Sink(tmp_path, "--no-chunking")
    sink_bdat = Sink(tmp_path)
    try:
        # The hop is another MTA: its own hostname (the same one would be a loop, 5.4.6).
        hop = daemon_factory({"metrics": {"listen": ""}, "server": {"hostname": "hop.test.example"}}, name="hop")
        targets = [(sink_data.port, {}), (sink_bdat.port, {}), (hop.port, {"chunking": False})]
        for i, (port, delivery) in enumerate(targets):
            d = relay_to(daemon_factory, port, name=f"relay{i}", **delivery)
            with RawSmtp(d.port) as c:
                c.greet_ehlo()
                body = dot_stuff(TRICKY) if method == "DATA" else TRICKY
                code, text = send_body(c, method, body, "r@dest.test")
                assert code == 250, text
                qid = queue_id_of(text)
            [line] = wait_lines(d, 1, timeout=TIMEOUT, qid=qid)
            assert line["status"] == "sent", line["line"]
        for sink, bdat in ((sink_data, False), (sink_bdat, True)):
            sink.stop()
            [rec] = sink.records()
            assert rec["from"] == "a@client.test" and rec["rcpts"] == ["r@dest.test"], rec
            assert rec["bdat"] is bdat and rec["reply"] == 250, rec
        ids = wait_for(lambda: hop.queue_ids(), TIMEOUT, "the message at the ringmta hop", hop)
        assert len(ids) == 1
        assert hop.queue_cat(ids[0]).endswith(TRICKY)
    finally:
        sink_data.kill()
        sink_bdat.kill()


class PrivatePostfix:
    """A private Postfix instance (own config, queue and log, loopback only)
    whose smtpd listens on `port` and relays everything to `relayhost_port`;
    as in test_delivery_chunking.py::test_bdat_to_postfix_smtpd."""

    def __init__(self, port, relayhost_port):
        self.dir = Path(tempfile.mkdtemp(prefix="ringmta-postfix-"))
        os.chmod(self.dir, 0o755)  # the postfix user must enter it
        for sub in ("etc", "spool", "data"):
            (self.dir / sub).mkdir()
        shutil.chown(self.dir / "data", "postfix")
        shutil.copy("/etc/postfix/master.cf", self.dir / "etc/master.cf")
        (self.dir / "etc/main.cf").write_text("")
        self.etc = str(self.dir / "etc")
        d = self.dir
        settings = ["compatibility_level=3.6", f"queue_directory={d}/spool", f"data_directory={d}/data",
                    "inet_interfaces=127.0.0.1", "inet_protocols=ipv4", "myhostname=postfix.test",
                    "mydestination=", "mynetworks=127.0.0.0/8", f"relayhost=[127.0.0.1]:{relayhost_port}",
                    "smtpd_relay_restrictions=permit_mynetworks,reject", "alias_maps=", "alias_database=",
                    "local_recipient_maps=", "syslog_name=postfix-ringmta-test",
                    f"maillog_file_prefixes={d}", f"maillog_file={d}/maillog"]
        subprocess.run([POSTCONF, "-c", self.etc, "-e", *settings], check=True)
        subprocess.run([POSTCONF, "-c", self.etc, "-F", "*/*/chroot = n"], check=True)
        subprocess.run([POSTCONF, "-c", self.etc, "-M#", "smtp/inet"], check=True)
        subprocess.run([POSTCONF, "-c", self.etc, "-Me", f"{port}/inet = {port} inet n - n - - smtpd"],
                       check=True)
        started = subprocess.run([POSTFIX, "-c", self.etc, "start"], capture_output=True, timeout=60)
        assert started.returncode == 0, (started.stdout, started.stderr)
        wait_for(lambda: port_open(port), TIMEOUT, "Postfix's smtpd to listen")

    def log(self):
        path = self.dir / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self):
        subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)


def test_smuggling_endings_through_postfix(daemon_factory, tmp_path):
    """ringmta -> Postfix's smtpd -> sink: Postfix queues exactly one message per
    attempt (the clean one) and relays exactly those to the sink."""
    if not (os.path.exists(POSTFIX) and os.geteuid() == 0):
        pytest.skip("needs Postfix (apt-get install postfix) and root for a private instance")
    sink = Sink(tmp_path)
    port = free_port()
    postfix = PrivatePostfix(port, sink.port)
    try:
        d = relay_to(daemon_factory, port)
        rcpts = smuggle_then_clean(d.port)
        # Plus one accepted body full of dot lines, in by BDAT.
        with RawSmtp(d.port) as c:
            c.greet_ehlo()
            assert send_body(c, "BDAT", TRICKY, "dots@dest.test")[0] == 250
        rcpts.append("dots@dest.test")
        wait_lines(d, len(rcpts), timeout=TIMEOUT, status="sent")
        wait_for(lambda: len(sink.records()) >= len(rcpts) if sink.record.exists() else False, TIMEOUT,
                 f"{len(rcpts)} messages through Postfix at the sink")
        # Postfix's qmgr logs one "from=<...>" line per queued message.
        pattern = re.compile(r"/qmgr\[\d+\]: \w+: from=<([^>]*)>")
        queued = wait_for(lambda: (lambda q: q if len(q) >= len(rcpts) else None)(pattern.findall(postfix.log())),
                          TIMEOUT, "Postfix's qmgr lines")
        assert queued == ["a@client.test"] * len(rcpts), postfix.log()[-3000:]
        sink.stop()
        records = sink.records()
        assert sorted(r["rcpts"][0] for r in records) == sorted(rcpts), records
        assert all(r["from"] == "a@client.test" for r in records), records
    finally:
        postfix.stop()
        sink.kill()
