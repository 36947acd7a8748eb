"""tests/integration/imap_fixtures.py — the IMAP server under test for the
real-client IMAP suites (test_imap*.py), and imaplib helpers.

The fixture `imap_server` is the server named by $RINGMTA_IMAP_TEST_SERVER:
  ringmta (default, what ctest runs): the built daemon with an smtp, an imap
          (STARTTLS, LOGINDISABLED before it) and an imaps listener, [mailbox]
          enabled, the users below in a users file (ringmtactl user add),
          example.test as the local domain; delivery is SMTP to that domain.
  dovecot (validation of the tests themselves against an established server):
          Debian's dovecot-imapd in a private loopback instance (own base_dir
          and config in a temp dir, Maildir, passwd-file passdb, mail under a uid of
          its own), disable_plaintext_auth = yes; delivery is dovecot-lda.
Both present the same certificate (a throwaway CA signs one for
localhost/127.0.0.1), so clients verify TLS with `ca_file` and the host name.
Every process started here is ended by its PID in teardown.

Run (from tests/integration, with Debian's /usr/bin/python3):
  against Dovecot (as root: its master switches to other uids):
    RINGMTA_IMAP_TEST_SERVER=dovecot /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        test_imap.py test_imap_sessions.py test_imap_clients.py
  against ringmta (the binaries from $RINGMTA_BUILD_DIR, default <repo>/build):
    /usr/bin/python3 -m pytest -q -p no:cacheprovider test_imap.py test_imap_sessions.py test_imap_clients.py
  or, once enabled in tests/integration/CMakeLists.txt:
    ctest --test-dir build -R integration.test_imap --output-on-failure
"""

import imaplib
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import pytest

from auth_fixtures import make_users_file
from conftest import free_port, port_open, queue_id_of, render_toml

SERVER_KIND = os.environ.get("RINGMTA_IMAP_TEST_SERVER", "ringmta")
HOST = "127.0.0.1"
USER, PASSWORD = "user@example.test", "password"
USER2, PASSWORD2 = "other@example.test", "Other-pw-2"
USERS = {USER: PASSWORD, USER2: PASSWORD2}
SPECIAL = {"Sent": r"\Sent", "Drafts": r"\Drafts", "Trash": r"\Trash", "Junk": r"\Junk",
           "Archive": r"\Archive"}
WAIT = 30.0  # bound on any wait for a delivery to show up


def make_certs(directory):
    """A throwaway CA and a server certificate it signs for localhost and
    127.0.0.1; returns (ca, cert, key) paths."""
    d = Path(directory)
    ca, ca_key = d / "ca.pem", d / "ca-key.pem"
    cert, key, csr = d / "server.pem", d / "server-key.pem", d / "server.csr"
    ext = d / "server.ext"
    # DNS:127.0.0.1 too: mbsync and offlineimap match a host given as an IP
    # address against the DNS names (Python, curl and Node use the IP entry).
    ext.write_text("subjectAltName = DNS:localhost, IP:127.0.0.1, DNS:127.0.0.1\n"
                   "extendedKeyUsage = serverAuth\nbasicConstraints = CA:FALSE\n")

    def run(*args):
        cp = subprocess.run(["openssl", *args], capture_output=True, timeout=60)
        assert cp.returncode == 0, cp.stderr.decode(errors="replace")

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
        str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=ringmta test CA")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(key),
        "-out", str(csr), "-subj", "/CN=localhost")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "2", "-extfile", str(ext))
    return ca, cert, key


def stop_proc(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_port(port, what, proc=None, log=None):
    for _ in range(400):
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(f"{what} port {port} never opened" + (f":\n{log.read_text()[-3000:]}" if log else ""))


class ImapServer:
    """What the tests see of either server."""
    kind = None
    host = HOST
    users = USERS
    user, password, user2, password2 = USER, PASSWORD, USER2, PASSWORD2

    def deliver(self, user, message, wait=True):
        """Put `message` (CRLF bytes) into user's INBOX the way mail arrives; with
        wait, return once an IMAP STATUS shows it."""
        before = self.count(user) if wait else None
        self._deliver(user, message)
        if wait:
            deadline = time.monotonic() + WAIT
            while self.count(user) <= before:
                if time.monotonic() > deadline:
                    pytest.fail(f"delivery to {user} not visible after {WAIT}s")
                time.sleep(0.05)

    def count(self, user, mailbox="INBOX"):
        with connect(self, user) as c:
            typ, data = c.status(mailbox, "(MESSAGES)")
            assert typ == "OK", data
            return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def delivered_prefix_ok(self, prefix):
        """Whether `prefix` (what the store put before the sent bytes) is only
        trace header fields the delivery agent adds (Received:, Return-Path:,
        Delivered-To:)."""
        if prefix == b"":
            return True
        if not prefix.endswith(b"\r\n"):
            return False
        fields = re.split(rb"\r\n(?![ \t])", prefix[:-2])
        return all(re.match(rb"(?i)(Received|Return-Path|Delivered-To|X-Original-To):", f) for f in fields)


class RingmtaImap(ImapServer):
    kind = "ringmta"

    def __init__(self, daemon_factory, tmp_path):
        self.ca_file, cert, key = make_certs(tmp_path)
        users = make_users_file(tmp_path / "users", USERS)
        # [imap]: the defaults spelled out, except a smaller bad-command limit
        # (test_imap.py sends that many bad commands).
        self.max_bad_commands = 5
        d = daemon_factory({"auth": {"users_file": str(users), "failure_delay": "0"},
                            "relay": {"local_domains": ["example.test"]},
                            "mailbox": {"enabled": True},
                            "imap": {"allow_plaintext_auth": False, "autologout": "30m",
                                     "max_bad_commands": self.max_bad_commands},
                            "tls": {"certificate": str(cert), "private_key": str(key)}}, start=False)
        self.port, self.imaps_port = free_port(), free_port()
        self.pop3s_port = free_port()
        d.settings["listener"] += [{"address": f"{HOST}:{self.port}", "kind": "imap"},
                                   {"address": f"{HOST}:{self.imaps_port}", "kind": "imaps"},
                                   {"address": f"{HOST}:{self.pop3s_port}", "kind": "pop3s"}]
        d.config_path.write_text(render_toml(d.settings))
        d.start()
        for port in (self.port, self.imaps_port, self.pop3s_port):
            wait_port(port, "ringmta", d.proc, d.log_path)
        self.daemon = d

    def _deliver(self, user, message):
        with smtplib.SMTP(HOST, self.daemon.port, timeout=30) as s:
            s.ehlo("client.test")
            code, resp = s.mail("sender@client.test")
            assert code == 250, resp
            code, resp = s.rcpt(user)
            assert code == 250, resp
            code, resp = s.data(message)
            assert code == 250, resp
            queue_id_of(resp)

    def stop(self):
        pass  # daemon_factory ends the daemon


class DovecotImap(ImapServer):
    kind = "dovecot"

    def __init__(self):
        if os.geteuid() != 0:
            pytest.skip("the private Dovecot needs root (its master switches to other uids)")
        for binary in ("/usr/sbin/dovecot", "/usr/lib/dovecot/imap", "/usr/lib/dovecot/dovecot-lda"):
            if not os.path.exists(binary):
                pytest.skip(f"{binary} missing (apt-get install dovecot-imapd)")
        # Not under pytest's tmp_path (mode 0700): Dovecot's mail processes run
        # under their own uid (below) and its login processes as dovenull.
        self.work = Path(tempfile.mkdtemp(prefix="ringmta-imap-dovecot-"))
        os.chmod(self.work, 0o755)
        w = self.work
        self.ca_file, cert, key = make_certs(w)
        self.mail = w / "mail"
        self.mail.mkdir()
        # The mail processes run as a uid of their own (no account needed), not
        # as nobody: inotify instances are limited per uid (128 by default), and
        # another Dovecot on the machine running thousands of IDLE sessions as
        # nobody would use them all up, leaving this one's IDLE to 30 s polling.
        uid = 3_000_000 + os.getpid() % 1_000_000
        (w / "passwd").write_text("".join(
            f"{u}:{{PLAIN}}{p}:{uid}:{uid}::{self.mail}/{u}::\n" for u, p in USERS.items()))
        for sub in ("run", "state"):
            (w / sub).mkdir()
        subprocess.run(["chown", "-R", f"{uid}:{uid}", str(self.mail)], check=True)
        self.port, self.imaps_port = free_port(), free_port()
        self.log = w / "dovecot.log"
        boxes = "".join(f"  mailbox {name} {{\n    special_use = {use}\n    auto = subscribe\n  }}\n"
                        for name, use in SPECIAL.items())
        self.conf = w / "dovecot.conf"
        self.conf.write_text(f"""
base_dir = {w}/run
state_dir = {w}/state
log_path = {self.log}
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
auth_mechanisms = plain login
mail_location = maildir:{self.mail}/%u/Maildir
first_valid_uid = 1
mail_plugins = $mail_plugins quota
mail_max_userip_connections = 100
namespace inbox {{
  inbox = yes
  separator = /
  prefix =
{boxes}}}
plugin {{
  quota = maildir:User quota
  quota_rule = *:storage=1G
  quota_max_mail_size = 50M
}}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota imap_zlib
}}
passdb {{
  driver = passwd-file
  args = {w}/passwd
}}
userdb {{
  driver = passwd-file
  args = {w}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
""")
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                                     stderr=open(w / "dovecot.stderr", "ab"))
        try:
            for port in (self.port, self.imaps_port):
                wait_port(port, "dovecot", self.proc, w / "dovecot.stderr")
        except BaseException:
            self.stop()
            raise
        self.max_bad_commands = None  # Dovecot has no limit on BAD commands

    def _deliver(self, user, message):
        cp = subprocess.run(["/usr/lib/dovecot/dovecot-lda", "-c", str(self.conf), "-d", user,
                             "-f", "sender@client.test"], input=message, capture_output=True, timeout=60)
        assert cp.returncode == 0, cp.stderr.decode(errors="replace") + self.log.read_text()[-2000:]

    def stop(self):
        stop_proc(self.proc)
        print(f"--- dovecot log tail ---\n{self.log.read_text(errors='replace')[-3000:]}"
              if self.log.exists() else "")
        shutil.rmtree(self.work, ignore_errors=True)


@pytest.fixture
def imap_server(request, tmp_path):
    if SERVER_KIND == "dovecot":
        server = DovecotImap()
    elif SERVER_KIND == "ringmta":
        server = RingmtaImap(request.getfixturevalue("daemon_factory"), tmp_path)
    else:
        pytest.fail(f"RINGMTA_IMAP_TEST_SERVER={SERVER_KIND!r}: expected ringmta or dovecot")
    yield server
    server.stop()


def ringmta_only(why):
    """Marks a test that checks what only ringmta has (skipped, no server started, otherwise)."""
    return pytest.mark.skipif(SERVER_KIND != "ringmta", reason=f"ringmta only: {why}")


# ---------------------------------------------------------------- clients

def tls_context(server):
    """Verifies the server certificate against the test CA and the host name."""
    return ssl.create_default_context(cafile=str(server.ca_file))


class _Imap4From(imaplib.IMAP4):
    """imaplib.IMAP4 connecting from a given loopback source address: Dovecot
    counts a connection whose source equals its destination as secure and
    would allow plaintext logins on it."""

    def __init__(self, host, port, source, timeout):
        self._source = source
        super().__init__(host, port, timeout=timeout)

    def _create_socket(self, timeout=None):
        return socket.create_connection((self.host, self.port), timeout, source_address=(self._source, 0))


def plain(server, timeout=30):
    """A connection before STARTTLS (from 127.0.0.2, see _Imap4From)."""
    return _Imap4From(server.host, server.port, "127.0.0.2", timeout)


def connect(server, user=None, password=None, starttls=False, timeout=30, login=True):
    """A logged-in imaplib session (imaps, or STARTTLS on the imap port)."""
    if starttls:
        c = plain(server, timeout)
        c.starttls(tls_context(server))
    else:
        c = imaplib.IMAP4_SSL(server.host, server.imaps_port, ssl_context=tls_context(server), timeout=timeout)
    if login:
        user = user or server.user
        typ, data = c.login(user, password or server.users[user])
        assert typ == "OK", data
    return c


def ok(result):
    typ, data = result
    assert typ == "OK", data
    return data


def message(n, subject=None, sender="alice@client.test", body=None, date="Mon, 07 Dec 2026 10:00:00 +0000",
            extra=""):
    """A small CRLF message, distinct per n."""
    body = body if body is not None else f"Body of message {n}.\r\nSecond line.\r\n"
    return (f"From: Alice Sender <{sender}>\r\nTo: {USER}\r\nSubject: {subject or f'message {n}'}\r\n"
            f"Date: {date}\r\nMessage-ID: <m{n}.{time.time_ns()}@client.test>\r\n{extra}"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n{body}").encode()


class RawImap:
    """A byte-level IMAP client for what imaplib cannot do (IDLE, LITERAL+,
    COMPRESS, counting BAD replies): sends lines as given, reads responses
    with their literals; after compress() both directions go through zlib
    (raw deflate, RFC 4978)."""

    def __init__(self, server, user=None, timeout=30, login=True):
        raw = socket.create_connection((server.host, server.imaps_port), timeout=timeout)
        self.sock = tls_context(server).wrap_socket(raw, server_hostname=server.host)
        self.buf, self.n, self.inflate, self.deflate = b"", 0, None, None
        greeting = self.line()
        assert greeting.startswith(b"* OK"), greeting
        if login:
            user = user or server.user
            tag, lines = self.cmd(f"LOGIN {user} \"{server.users[user]}\"")
            assert lines[-1].startswith(tag + b" OK"), lines

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        if self.deflate:
            data = self.deflate.compress(data) + self.deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"server closed the connection; pending {self.buf!r}")
        self.buf += self.inflate.decompress(chunk) if self.inflate else chunk

    def line(self):
        """One response line with any literals it carries inlined (CRLF removed at the end)."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            part, self.buf = self.buf.split(b"\r\n", 1)
            out += part
            m = re.search(rb"\{(\d+)\}$", part)
            if not m:
                return out
            size = int(m.group(1))
            while len(self.buf) < size:
                self._fill()
            out += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]

    def tag(self):
        self.n += 1
        return f"R{self.n}".encode()

    def cmd(self, text):
        """Send `TAG text` and read up to the tagged reply: (tag, [lines])."""
        tag = self.tag()
        self.send(tag + b" " + (text.encode() if isinstance(text, str) else text) + b"\r\n")
        return tag, self.until(tag)

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def compress(self):
        tag, lines = self.cmd("COMPRESS DEFLATE")
        assert lines[-1].startswith(tag + b" OK"), lines
        assert self.buf == b"", self.buf  # nothing may follow the OK uncompressed
        self.inflate = zlib.decompressobj(-15)
        self.deflate = zlib.compressobj(6, zlib.DEFLATED, -15)


# Commands imaplib (3.11) does not know; it refuses to send an unknown one.
for _name, _states in (("MOVE", ("SELECTED",)), ("ID", ("NONAUTH", "AUTH", "SELECTED")),
                       ("ENABLE", ("AUTH",)), ("UNSELECT", ("SELECTED",))):
    imaplib.Commands.setdefault(_name, _states)


def command(c, name, *args):
    """Any command through imaplib: (typ, data of the tagged reply)."""
    return c._simple_command(name, *args)
