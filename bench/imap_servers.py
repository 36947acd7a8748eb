"""bench/imap_servers.py — the two private, loopback-only IMAP servers of
bench/imap_compare.py and the mailbox content they share.

  make_maildir(DIR, N, SIZE)  N messages (text/plain, multipart/alternative,
                              multipart/mixed with a base64 attachment, some
                              encoded-word subjects; Maildir flags on some),
                              LF line ends with S= and W= sizes in the names as
                              Dovecot's LDA writes them. Returns the CRLF bytes
                              (what a full-body FETCH must return in total).
  Dovecot(work, ...)          Debian's dovecot-imapd: own base_dir, imap (plain)
                              and imaps listeners plus an LMTP listener (IDLE
                              latency probes) on 127.0.0.1, Maildir under the
                              work directory, passwd-file users (the same
                              SHA-512 crypt hash as ringmta's), mail_fsync =
                              always. Login processes in high-performance mode
                              (service_count = 0): the lower-memory Dovecot
                              setup for many connections. hibernate=N turns on
                              imap_hibernate_timeout (IDLE sessions moved to
                              imap-hibernate after N seconds).
  Ringmta(build, work, ...)   ringmta with imap/imaps/smtp listeners, [mailbox]
                              enabled, a users file, [imap] allow_plaintext_auth;
                              the fetch user's INBOX filled from the same Maildir
                              with `ringmtactl mailbox import --maildir`.
Both started fresh, ended by PID (SIGTERM, then SIGKILL after 30 s).
"""
import base64
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt  # SHA-512 crypt for ringmta's users file (Debian 12's Python 3.11 has it)

from benchlib import free_port, wait_port

PASSWORD = "bench-pw"
DOMAIN = "local.test"
# Both servers check the same SHA-512 crypt hash (5,000 rounds, the glibc
# default): login CPU compares like with like.
PASSWORD_HASH = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_SHA512, rounds=5000))


def _message(i, size):
    subj = f"=?UTF-8?B?{base64.b64encode(f'Grüße Nachricht {i}'.encode()).decode()}?=" if i % 5 == 0 \
        else f"bench message {i} about topic {i % 37}"
    head = (f"From: Sender {i % 50} <sender{i % 50}@example.org>\nTo: fetch@{DOMAIN}\n"
            f"Cc: list{i % 3}@example.net\nSubject: {subj}\n"
            f"Date: Mon, 07 Dec 2026 {i % 24:02d}:{i % 60:02d}:00 +0000\n"
            f"Message-ID: <m{i}.bench@example.org>\nMIME-Version: 1.0\n")
    fill = max(0, size - len(head) - 400)
    text = "".join(f"line {k} of message {i}: " + "lorem ipsum dolor sit amet " * 2 + "\n"
                   for k in range(fill // 80 + 1))
    if i % 10 == 9:
        att = base64.encodebytes(bytes((i + k) % 256 for k in range(fill // 2))).decode()
        return (head + "Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n"
                "Content-Type: text/plain; charset=utf-8\n\n" + text[: fill // 2] + "\n--b1\n"
                f"Content-Type: application/octet-stream; name=\"data{i}.bin\"\n"
                "Content-Transfer-Encoding: base64\n"
                f"Content-Disposition: attachment; filename=\"data{i}.bin\"\n\n" + att + "--b1--\n")
    if i % 4 == 1:
        return (head + "Content-Type: multipart/alternative; boundary=\"alt\"\n\n--alt\n"
                "Content-Type: text/plain; charset=us-ascii\n\n" + text[: fill // 2] + "\n--alt\n"
                "Content-Type: text/html; charset=us-ascii\n\n<html><body><pre>" + text[: fill // 2] +
                "</pre></body></html>\n--alt--\n")
    return head + "Content-Type: text/plain; charset=us-ascii\n\n" + text


def make_maildir(path, count, size):
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    t, total = int(time.time()), 0
    for i in range(count):
        lf = _message(i, size).encode()
        crlf_len = len(lf) + lf.count(b"\n")
        total += crlf_len
        flags = "S" if i % 3 else ("FS" if i % 7 == 0 else "")
        (path / "cur" / f"{t}.M{i}P1.bench,S={len(lf)},W={crlf_len}:2,{flags}").write_bytes(lf)
    return total


def stop_proc(proc):
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def make_cert(work):
    """One self-signed RSA-2048 certificate, used by both servers."""
    cert, key = work / "cert.pem", work / "key.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3", "-subj",
                        "/CN=bench.local.test", "-keyout", str(key), "-out", str(cert)],
                       check=True, capture_output=True, timeout=60)
        os.chmod(key, 0o644)  # read by Dovecot's login processes (loopback bench key)
    return cert, key


class Dovecot:
    name = "dovecot"

    def __init__(self, work, users, fetch_maildir, cert, hibernate=0):
        self.work, self.log = work, work / "dovecot.log"
        self.port, self.tls_port, self.lmtp_port = free_port(), free_port(), free_port()
        mail = work / "mail"
        nobody = pwd.getpwnam("nobody")
        fresh = not mail.exists()  # restarts of one run keep their mail
        for u in users if fresh else []:
            md = mail / u / "Maildir"
            if u.startswith("fetch@") and fetch_maildir:
                shutil.copytree(fetch_maildir, md)
            else:
                for sub in ("cur", "new", "tmp"):
                    (md / sub).mkdir(parents=True, exist_ok=True)
        if fresh:
            subprocess.run(["chown", "-R", "nobody:nogroup", str(mail)], check=True, timeout=300)
        (work / "passwd").write_text("".join(
            f"{u}:{{SHA512-CRYPT}}{PASSWORD_HASH}:{nobody.pw_uid}:{nobody.pw_gid}::{mail}/{u}::\n" for u in users))
        for d in ("run", "state"):
            (work / d).mkdir(exist_ok=True)
        hib = f"imap_hibernate_timeout = {hibernate}s\n" if hibernate else ""
        (work / "dovecot.conf").write_text(f"""
base_dir = {work}/run
state_dir = {work}/state
log_path = {work}/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert[0]}
ssl_key = <{cert[1]}
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{mail}/%u/Maildir
first_valid_uid = 1
mail_fsync = always
mail_max_userip_connections = 100000
lmtp_save_to_detail_mailbox = no
{hib}passdb {{
  driver = passwd-file
  args = {work}/passwd
}}
userdb {{
  driver = passwd-file
  args = {work}/passwd
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
    ssl = yes
  }}
  service_count = 0
  process_min_avail = 2
  process_limit = 100
  # a TLS client costs its login process two descriptors (client + proxy to
  # imap): 4,000 each stays under the 20,000 fd limit of a container
  client_limit = 4000
  vsz_limit = 1G
}}
service imap {{
  process_limit = 25000
  # imap-hibernate (running as Dovecot's internal user) hands sessions back here
  unix_listener imap-master {{
    mode = 0666
  }}
}}
service imap-hibernate {{
  client_limit = 15000
  unix_listener imap-hibernate {{
    mode = 0666
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.lmtp_port}
  }}
}}
service anvil {{
  client_limit = 20000
}}
service auth {{
  client_limit = 20000
}}
default_process_limit = 1000
default_client_limit = 20000
""")
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(work / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(work / "dovecot.stderr", "ab"),
                                     stdin=subprocess.DEVNULL)
        try:
            wait_port(self.port, 30)
            wait_port(self.tls_port, 30)
        except BaseException:
            stop_proc(self.proc)
            raise
        self.pid = self.proc.pid

    def deliver_args(self):
        return ["--lmtp", f"127.0.0.1:{self.lmtp_port}"]

    def stop(self):
        stop_proc(self.proc)


class Ringmta:
    name = "ringmta"

    def __init__(self, build, work, users, fetch_maildir, cert, extra_toml=""):
        self.build, self.work = Path(build), work
        self.port, self.tls_port, self.smtp_port = free_port(), free_port(), free_port()
        fresh = not (work / "data").exists()  # restarts of one run keep the imported mail
        (work / "users").write_text("".join(f"{u}:{PASSWORD_HASH}\n" for u in users))
        self.conf = work / "ringmta.toml"
        self.conf.write_text(f"""
[server]
hostname = "bench.local.test"
data_dir = "{work}/data"
[[listener]]
address = "127.0.0.1:{self.smtp_port}"
kind = "smtp"
[[listener]]
address = "127.0.0.1:{self.port}"
kind = "imap"
[[listener]]
address = "127.0.0.1:{self.tls_port}"
kind = "imaps"
[tls]
certificate = "{cert[0]}"
private_key = "{cert[1]}"
[relay]
local_domains = ["{DOMAIN}"]
[auth]
users_file = "{work}/users"
[mailbox]
enabled = true
[imap]
allow_plaintext_auth = true
[limits]
max_connections = 100000
max_connections_per_ip = 100000
[queue]
durability = "fsync"
[log]
level = "warn"
{extra_toml}
""")
        log = work / "ringmta.log"
        self.proc = subprocess.Popen([str(self.build / "ringmta"), "--config", str(self.conf)],
                                     stdout=open(log, "ab"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            for p in (self.port, self.tls_port, self.smtp_port):
                while True:  # bounded by the deadline; a refused config ends it at once
                    if self.proc.poll() is not None:
                        raise SystemExit(f"ringmta exited at start (code {self.proc.returncode}):\n" +
                                         log.read_text()[-2000:])
                    try:
                        socket.create_connection(("127.0.0.1", p), timeout=1).close()
                        break
                    except OSError:
                        if time.monotonic() > deadline:
                            raise SystemExit(f"ringmta: port {p} never opened")
                        time.sleep(0.05)
            users_with_mail = [u for u in users if u.startswith("fetch@")]
            for u in users_with_mail if fetch_maildir and fresh else []:
                subprocess.run([str(self.build / "ringmtactl"), "--config", str(self.conf), "mailbox", "import", u,
                                "--maildir", str(fetch_maildir)], check=True, capture_output=True, timeout=900)
        except BaseException:
            stop_proc(self.proc)
            raise
        self.pid = self.proc.pid

    def deliver_args(self):
        return ["--smtp", f"127.0.0.1:{self.smtp_port}"]

    def stop(self):
        stop_proc(self.proc)
