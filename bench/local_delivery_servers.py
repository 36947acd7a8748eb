"""bench/local_delivery_servers.py — the three private, loopback-only servers of
bench/local_delivery_compare.py, each started fresh in its own directory and
ended by PID (or `postfix -c DIR stop`, which ends only that instance):

  ringmta   [mailbox] enabled, local_domains = the bench domains, a users file
            written by `ringmtactl user add`, queue durability fsync; counts
            deliveries through /metrics (ringmta_local_deliveries_total),
            verified at the end with `ringmtactl mailbox list --json`;
  dovecot   Debian's dovecot-lmtpd: its own base_dir, one LMTP inet listener on
            127.0.0.1, Maildir under the run directory, passwd-file passdb and
            userdb with the same users, mail_fsync = always; counts deliveries
            through its log ("saved mail to"), verified by counting the files;
  postfix   like bench/compare.sh's instance (own config_directory and
            queue_directory, chroot off, smtpd on a loopback port), with the
            bench domains as virtual_mailbox_domains delivered by
            virtual_transport = lmtp:inet:127.0.0.1:DOVECOT_PORT.

Users are user1@u0.test .. user1@u{N-1}.test: one local part, N domains, so
that `ringmta-bench send --domains` (which always writes RCPT TO:<user1@D> and
takes the domains in turn) spreads its messages over the same N mailboxes as
one smtp-source per user does.
"""
import json
import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from benchlib import free_port, wait_port

PASSWORD = "bench-pw"


def users_for(n):
    return [f"user1@u{i}.test" for i in range(n)]


def stop_proc(proc):
    """TERM our child, wait (bounded), then KILL."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


class LogCounter:
    """Counts a marker in a growing log file, reading only the new bytes."""

    def __init__(self, path, marker):
        self.path, self.marker, self.pos, self.count, self.tail = path, marker, 0, 0, b""

    def read(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return self.count
        self.pos += len(data)
        data = self.tail + data
        cut = data.rfind(b"\n") + 1  # count whole lines only
        self.count += data[:cut].count(self.marker)
        self.tail = data[cut:]
        return self.count


# ---------------------------------------------------------------- ringmta

class Ringmta:
    name = "ringmta"

    def __init__(self, build, work, users):
        self.build, self.work = Path(build), work
        self.port, self.metrics = free_port(), free_port()
        ufile = work / "users"
        for u in users:
            subprocess.run([str(self.build / "ringmtactl"), "user", "add", u, "--users-file", str(ufile)],
                           input=PASSWORD + "\n", text=True, check=True, capture_output=True, timeout=60)
        domains = ", ".join(f'"{u.split("@")[1]}"' for u in users)
        (work / "ringmta.toml").write_text(f"""
[server]
hostname = "ringmta.bench.test"
data_dir = "{work}/data"
[[listener]]
address = "127.0.0.1:{self.port}"
kind = "smtp"
[relay]
trusted_networks = ["127.0.0.0/8"]
local_domains = [{domains}]
[auth]
users_file = "{ufile}"
[mailbox]
enabled = true
[limits]
max_connections_per_ip = 100000
[queue]
durability = "fsync"
[metrics]
listen = "127.0.0.1:{self.metrics}"
[log]
level = "info"
""")
        self.log = work / "ringmta.log"
        self.proc = subprocess.Popen([str(self.build / "ringmta"), "--config", str(work / "ringmta.toml")],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"),
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        try:
            while b"ready" not in self.log.read_bytes():
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("ringmta did not start:\n" + self.log.read_text()[-2000:])
                time.sleep(0.05)
        except BaseException:
            stop_proc(self.proc)
            raise
        self.pids = [self.proc.pid]

    def delivered(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics}/metrics", timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith("ringmta_local_deliveries_total"):
                        return int(float(line.split()[-1]))
        except OSError:
            pass
        return 0

    def verify(self):
        """Messages in the mail store, per user (a read-only instance of the live DB)."""
        out = subprocess.run([str(self.build / "ringmtactl"), "--data-dir", str(self.work / "data"),
                              "mailbox", "list", "--json"], capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            return {"error": out.stderr[-300:]}
        rows = json.loads(out.stdout)
        rows = rows.get("users", rows) if isinstance(rows, dict) else rows
        return {r["user"]: r["messages"] for r in rows}

    def stop(self):
        stop_proc(self.proc)


# ---------------------------------------------------------------- Dovecot

class Dovecot:
    name = "dovecot"

    def __init__(self, work, users):
        self.work, self.users = work, users
        self.port = free_port()
        self.mail = work / "mail"
        for u in users:
            (self.mail / u).mkdir(parents=True)
        subprocess.run(["chown", "-R", "nobody:nogroup", str(self.mail)], check=True)
        nobody = pwd.getpwnam("nobody")  # the mail processes run as nobody
        (work / "passwd").write_text("".join(
            f"{u}:{{PLAIN}}{PASSWORD}:{nobody.pw_uid}:{nobody.pw_gid}::{self.mail}/{u}::\n" for u in users))
        for d in ("run", "state"):
            (work / d).mkdir()
        self.log = work / "dovecot.log"
        (work / "dovecot.conf").write_text(f"""
base_dir = {work}/run
state_dir = {work}/state
log_path = {self.log}
protocols = lmtp
listen = 127.0.0.1
ssl = no
mail_location = maildir:{self.mail}/%u/Maildir
first_valid_uid = 1
mail_fsync = always
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = passwd-file
  args = {work}/passwd
}}
userdb {{
  driver = passwd-file
  args = {work}/passwd
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {self.port}
  }}
  process_limit = 1000
}}
default_process_limit = 1000
default_client_limit = 2000
""")
        self.proc = subprocess.Popen(["/usr/sbin/dovecot", "-F", "-c", str(work / "dovecot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=open(work / "dovecot.stderr", "ab"),
                                     stdin=subprocess.DEVNULL)
        try:
            wait_port(self.port, 30)
        except BaseException:
            stop_proc(self.proc)
            raise
        self.pids = [self.proc.pid]
        self.counter = LogCounter(self.log, b"saved mail to ")

    def delivered(self):
        return self.counter.read()

    def verify(self):
        out = {}
        for u in self.users:
            md = self.mail / u / "Maildir"
            out[u] = sum(len(os.listdir(md / s)) for s in ("new", "cur") if (md / s).is_dir())
        return out

    def stop(self):
        stop_proc(self.proc)


# ---------------------------------------------------------------- Postfix -> Dovecot

class PostfixDovecot:
    name = "postfix+dovecot"

    def __init__(self, work, users):
        (work / "dovecot").mkdir()
        self.dovecot = Dovecot(work / "dovecot", users)
        self.dir, self.master = work / "postfix", None
        try:
            self._start_postfix(users)
        except BaseException:  # a failed or interrupted start leaves nothing running
            self.stop()
            raise
        self.pids = [self.master] + self.dovecot.pids

    def _start_postfix(self, users):
        d = self.dir
        self.port = free_port()
        for sub in ("etc", "spool", "data"):
            (d / sub).mkdir(parents=True)
        shutil.chown(d / "data", "postfix")
        shutil.copy("/etc/postfix/master.cf", d / "etc" / "master.cf")
        (d / "etc" / "main.cf").write_text("")
        (d / "vmailbox").write_text("".join(f"{u} OK\n" for u in users))
        domains = " ".join(u.split("@")[1] for u in users)
        etc = str(d / "etc")
        self._postconf(
            "-e", "compatibility_level=3.6", f"queue_directory={d}/spool", f"data_directory={d}/data",
            "inet_interfaces=127.0.0.1", "inet_protocols=ipv4", "myhostname=postfix.bench.test",
            "mydestination=", "mynetworks=127.0.0.0/8", "relayhost=",
            "smtpd_relay_restrictions=permit_mynetworks,reject", "alias_maps=", "alias_database=",
            "local_recipient_maps=", f"virtual_mailbox_domains={domains}",
            f"virtual_mailbox_maps=texthash:{d}/vmailbox",
            f"virtual_transport=lmtp:inet:127.0.0.1:{self.dovecot.port}",
            "syslog_name=postfix-bench", f"maillog_file_prefixes={d}", f"maillog_file={d}/maillog")
        self._postconf("-F", "*/*/chroot = n")
        self._postconf("-M#", "smtp/inet")
        self._postconf("-Me", f"{self.port}/inet = {self.port} inet n - n - - smtpd")
        r = subprocess.run(["postfix", "-c", etc, "start"], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise SystemExit("postfix did not start: " + r.stdout + r.stderr)
        wait_port(self.port, 30)
        self.master = int((d / "spool" / "pid" / "master.pid").read_text().strip())

    def _postconf(self, *args):
        subprocess.run(["postconf", "-c", str(self.dir / "etc"), *args], check=True, timeout=30)

    def delivered(self):
        return self.dovecot.delivered()

    def verify(self):
        return self.dovecot.verify()

    def stop(self):
        if (self.dir / "etc" / "main.cf").exists():  # stops only this instance (its config_directory)
            subprocess.run(["postfix", "-c", str(self.dir / "etc"), "stop"], capture_output=True, timeout=60)
        pidfile = self.dir / "spool" / "pid" / "master.pid"
        if self.master is None and pidfile.exists():
            self.master = int(pidfile.read_text().strip() or 0) or None
        for _ in range(100):  # bounded wait for this instance's master to go
            if self.master is None or not os.path.exists(f"/proc/{self.master}"):
                break
            time.sleep(0.1)
        else:
            subprocess.run(["postfix", "-c", str(self.dir / "etc"), "abort"], capture_output=True, timeout=60)
        self.dovecot.stop()
