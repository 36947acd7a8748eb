"""tests/adversarial/test_log_escaping.py — client and remote text never
reaches an operator's screen raw (issue 15, item 7).

A client puts ESC, CR and other control bytes wherever SMTP lets them through:
an EHLO name, an xtext-encoded ENVID and ORCPT (+1B is ESC, +0D CR), header
values, the TLS SNI name. A remote server answers with an ESC colour sequence in its reply. The
daemon's log (text and JSON formats) and `ringmtactl queue show/list/summary`
(text and --json) must then hold no raw control byte: every one comes out as
a printable escape (\\x1b, \\r), and the JSON formats escape them as JSON does.
The remote server is a raw socket SMTP server on 127.0.0.1 in this process.
"""

import json
import socket
import threading
import time

import pytest

from conftest import RawSmtp, queue_id_of

# ESC and other C0 bytes of a reply become '?' where ringmta parses it
# (proto/smtp/reply_parser.cpp); TAB, 8-bit bytes that are not UTF-8 and the
# C1 CSI (U+009B) pass that parser and must be escaped on the screens.
ESC_REPLY = b"450 4.2.0 \x1b[31mmailbox busy\x1b[0m \x9b2J \xc2\x9b1m\ttry later"
REPLY_ESCAPED = b"?[31mmailbox busy?[0m \\x9b2J \\u009b1m\\ttry later"
# Through the admin API's JSON the byte 0x9b (not UTF-8) has become U+FFFD.
REPLY_VIA_API = "?[31mmailbox busy?[0m \ufffd2J \\u009b1m\\ttry later".encode()
TIMEOUT = 20.0


def raw_control_bytes(data, allowed=b"\n"):
    """The control bytes (C0 but `allowed`, DEL) in `data`, and whether it holds
    bytes that are not UTF-8 or the C1 control U+009B."""
    bad = sorted({b for b in data if (b < 0x20 and b not in allowed) or b == 0x7F})
    try:
        text = data.decode("utf-8")
        c1 = any(0x80 <= ord(ch) <= 0x9F for ch in text)
    except UnicodeDecodeError:
        c1 = True
    return bad, c1


def assert_screen_safe(data, what, allowed=b"\n"):
    bad, c1 = raw_control_bytes(data, allowed)
    assert not bad, f"{what}: raw control bytes {bad}: {data[:2000]!r}"
    assert not c1, f"{what}: bad UTF-8 or a raw C1 control: {data[:2000]!r}"


class EscSmtpServer:
    """A minimal SMTP server on 127.0.0.1 that greets and takes EHLO and MAIL,
    then answers every RCPT with ESC_REPLY (so the message is deferred). Serves
    at most `max_sessions` connections, each bounded in time."""

    def __init__(self, max_sessions=5):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))  # held from here on: nobody else gets the port
        self.sock.listen(8)
        self.sock.settimeout(0.5)
        self.port = self.sock.getsockname()[1]
        self.rcpts = 0
        self._stop = threading.Event()
        self._max = max_sessions
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        served = 0
        while served < self._max and not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            served += 1
            with conn:
                self._session(conn)

    def _session(self, conn):
        conn.settimeout(TIMEOUT)
        buf = b""
        conn.sendall(b"220 esc.example ESMTP\r\n")
        deadline = time.monotonic() + TIMEOUT
        try:
            while time.monotonic() < deadline and not self._stop.is_set():
                while b"\r\n" not in buf:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    buf += chunk
                line, buf = buf.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250-esc.example\r\n250 PIPELINING\r\n")
                elif verb == b"MAIL":
                    conn.sendall(b"250 2.1.0 ok\r\n")
                elif verb == b"RCPT":
                    self.rcpts += 1
                    conn.sendall(ESC_REPLY + b"\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    conn.sendall(b"503 5.5.1 no\r\n")
        except OSError:
            return

    def stop(self):
        self._stop.set()
        self.sock.close()
        self._thread.join(timeout=TIMEOUT)


@pytest.fixture
def esc_server():
    s = EscSmtpServer()
    yield s
    s.stop()


def send_hostile_message(d):
    """EHLO, ENVID, ORCPT and headers with ESC/CR in them; returns the queue ID."""
    with RawSmtp(d.port) as c:
        assert c.reply()[0] == 220
        code, _ = c.cmd(b"EHLO evil\x1b[31m.example\x1b]0;owned\x07".decode("latin-1"))
        assert code == 250  # the EHLO name is not checked beyond its syntax: it reaches the queue
        c.expect("MAIL FROM:<a@client.test> ENVID=id+1B[2J+0D+0Aforged", 250)
        c.expect("RCPT TO:<u@dest.example> ORCPT=rfc822;x+1B[31m+0Dy@dest.example NOTIFY=FAILURE", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: \x1b[31mred\x1b[0m\r\nX-Evil: a\x1b]2;title\x07b\r\n\r\nbody\r\n.\r\n")
        code, text = c.reply()
        assert code == 250, text
        return queue_id_of(text)


def wait_deferred(d, qid):
    return d.wait_log(f"{qid}: to=<u@dest.example>", timeout=TIMEOUT)


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_client_and_remote_text_is_escaped_everywhere(daemon_factory, esc_server, fmt):
    d = daemon_factory({"delivery": {"relayhost": f"[127.0.0.1]:{esc_server.port}", "connect_timeout": "2s"},
                        "log": {"format": fmt, "buffered": False}, "metrics": {"listen": ""}})
    qid = send_hostile_message(d)
    wait_deferred(d, qid)
    assert esc_server.rcpts >= 1

    raw_log = d.log_path.read_bytes()
    assert_screen_safe(raw_log, "daemon log")
    if fmt == "text":
        # The remote reply is on the delivery line, escaped, on one line.
        [line] = [l for l in raw_log.split(b"\n") if f"{qid}: to=<u@dest.example>".encode() in l]
        assert REPLY_ESCAPED in line, line
    else:
        lines = [json.loads(l) for l in raw_log.split(b"\n") if l.startswith(b"{")]
        [delivery] = [o for o in lines if o.get("event") == "delivery" and o.get("queue_id") == qid]
        assert delivery["reply"].endswith("?[31mmailbox busy?[0m \ufffd2J \x9b1m\ttry later"), delivery
        assert b"\\ufffd2J \\u009b1m\\ttry later" in raw_log  # the file holds it escaped

    show = d.ctl("queue", "show", qid).stdout
    assert_screen_safe(show, "queue show", allowed=b"\n\t")  # TAB: folded header lines
    assert b"client: evil\\x1b[31m.example\\x1b]0;owned\\x07 [127.0.0.1]" in show, show
    assert b"envid: id\\x1b[2J\\r\\nforged" in show, show
    assert b"last reply: 450 4.2.0 " + REPLY_VIA_API in show, show
    assert b"Subject: \\x1b[31mred\\x1b[0m" in show, show
    assert b"X-Evil: a\\x1b]2;title\\x07b" in show, show

    summary = d.ctl("queue", "summary").stdout
    assert_screen_safe(summary, "queue summary")
    assert REPLY_VIA_API in summary, summary
    listing = d.ctl("queue", "list").stdout
    assert_screen_safe(listing, "queue list")
    assert qid.encode() in listing

    # --json: valid JSON, every control character escaped, values intact.
    show_json = d.ctl("queue", "show", qid, "--json").stdout
    assert_screen_safe(show_json, "queue show --json")
    m = json.loads(show_json)
    assert m["helo"] == "evil\x1b[31m.example\x1b]0;owned\x07"
    assert m["envid"] == "id\x1b[2J\r\nforged"
    [r] = m["recipient_states"]
    assert r["orcpt"].endswith("x\x1b[31m\ry@dest.example"), r
    assert r["last_reply"].endswith("mailbox busy?[0m \ufffd2J \x9b1m\ttry later"), r
    for args in (["queue", "list", "--json"], ["queue", "summary", "--json"]):
        out = d.ctl(*args).stdout
        assert_screen_safe(out, " ".join(args))
        for l in out.splitlines():
            json.loads(l)


def test_escaped_also_without_the_daemon(daemon_factory, esc_server):
    # ringmtactl reads the queue itself when no daemon runs: the same printing.
    d = daemon_factory({"delivery": {"relayhost": f"[127.0.0.1]:{esc_server.port}", "connect_timeout": "2s"},
                        "metrics": {"listen": ""}})
    qid = send_hostile_message(d)
    wait_deferred(d, qid)
    d.stop()
    for args in (["queue", "show", qid], ["queue", "summary"], ["queue", "list"]):
        out = d.ctl(*args).stdout
        assert_screen_safe(out, " ".join(args), allowed=b"\n\t")
    assert REPLY_ESCAPED in d.ctl("queue", "show", qid).stdout


def test_tls_sni_is_escaped(daemon_factory):
    import ssl

    d = daemon_factory({"metrics": {"listen": ""}})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test daemon's certificate is self-signed
    sni = "evil\x1b[31m\x7f.example"
    with RawSmtp(d.port) as c:
        c.greet_ehlo()
        c.expect("STARTTLS", 220)
        tls = ctx.wrap_socket(c.sock, server_hostname=sni)
        tls.settimeout(TIMEOUT)
        tls.sendall(b"QUIT\r\n")
        assert tls.recv(1024).startswith(b"221")
        tls.close()
    log = d.wait_log("sni=", timeout=TIMEOUT)
    assert "sni=evil\\x1b[31m\\x7f.example" in log, log
    assert_screen_safe(d.log_path.read_bytes(), "daemon log")
