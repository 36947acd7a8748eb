"""tests/integration/delivery_fixtures.py — the world outside ringmta for delivery tests.

Onward delivery is tested end to end with real components on loopback only:
  - dnsmasq on 127.0.0.1:<free port> is authoritative for *.test and serves the
    MX/A records below (one per test module);
  - remote MX hosts are real SMTP servers on 127.0.0.2, .3, ... at one free
    port (delivery.port): smtp_recorder.py (python3-aiosmtpd, records every
    envelope, connection and RCPT reply as JSON lines, can refuse recipients)
    or Postfix's smtp-sink (dumps each message to a file);
  - the scripted fake DNS of the resolver's unit tests
    (tests/unit/dns/fake_dns.py) only for faults: SERVFAIL and silence.
Every process is started here and ended by its PID in fixture teardown.

Test files import the fixtures they use by name (pytest finds fixtures in the
test module's namespace); what they check with is in delivery_checks.py.
"""

import base64
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO, free_port

PYTHON = "/usr/bin/python3"
DNSMASQ = "/usr/sbin/dnsmasq"
SMTP_SINK = "/usr/sbin/smtp-sink"
HERE = Path(__file__).resolve().parent
RECORDER_SCRIPT = HERE / "smtp_recorder.py"
FAKE_DNS_SCRIPT = REPO / "tests" / "unit" / "dns" / "fake_dns.py"

# Remote MX addresses used by the zone; a test's servers all listen on one port.
MX_ADDRS = [f"127.0.0.{i}" for i in range(2, 10)]
BOUNCE_IP = "127.0.0.9"         # mx.sender.test: the senders' domain, gets the bounces

# The zone dnsmasq serves (everything under .test answered locally: unknown
# names NXDOMAIN, known names without the asked type NODATA).
ZONE_ARGS = [
    # Preference order: mx1 (10) before mx2 (20).
    "--mx-host=pref.test,mx1.pref.test,10", "--mx-host=pref.test,mx2.pref.test,20",
    "--host-record=mx1.pref.test,127.0.0.2", "--host-record=mx2.pref.test,127.0.0.3",
    # Equal preferences: shuffled per lookup.
    "--mx-host=eq.test,a.eq.test,10", "--mx-host=eq.test,b.eq.test,10",
    "--host-record=a.eq.test,127.0.0.2", "--host-record=b.eq.test,127.0.0.3",
    # No MX, an A record: the implicit MX (RFC 5321 5.1).
    "--host-record=implicit.test,127.0.0.4",
    # RFC 7505 null MX ("0 .").
    "--mx-host=nullmx.test,.,0",
    # The ordinary destination and the senders' domain (bounces go there).
    "--mx-host=dest.test,mx.dest.test,10", "--host-record=mx.dest.test,127.0.0.2",
    "--mx-host=sender.test,mx.sender.test,10", "--host-record=mx.sender.test,127.0.0.9",
    # A smart host found by MX lookup (relayhost = "relay.test:PORT").
    "--mx-host=relay.test,mx.relay.test,10", "--host-record=mx.relay.test,127.0.0.7",
]

PROCESS_START_TIMEOUT = 10.0


# ---------------------------------------------------------------- processes

class Child:
    """A subprocess we started; stopped by its PID (SIGTERM, then SIGKILL)."""

    def __init__(self, argv, log_path, ready_line=None):
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if ready_line else self._log, stderr=self._log)
        if ready_line:
            self._wait_line(ready_line)

    def _wait_line(self, expected):
        deadline = time.monotonic() + PROCESS_START_TIMEOUT
        buf = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                buf += chunk
                if expected.encode() in buf:
                    return
            if self.proc.poll() is not None:
                break
        self.stop()
        pytest.fail(f"{self.argv[0]} did not print {expected!r}: {buf!r}\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self._log.close()


def dns_answers(port, name, qtype="MX", timeout=0.5):
    """True when a DNS server on 127.0.0.1:port answers a query (any rcode)."""
    from dnslib import DNSRecord
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(DNSRecord.question(name, qtype).pack(), ("127.0.0.1", port))
            s.recv(4096)
            return True
        except OSError:
            return False


class Dnsmasq:
    """dnsmasq serving ZONE_ARGS on 127.0.0.1:port (UDP and TCP)."""

    def __init__(self, workdir):
        self.port = free_port()
        self.query_log = Path(workdir) / "dnsmasq-queries.log"
        self.child = Child([
            DNSMASQ, "--keep-in-foreground", f"--port={self.port}",
            "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
            "--conf-file=/dev/null", "--pid-file=", "--user=root", "--log-queries",
            f"--log-facility={self.query_log}", "--local=/test/", "--local-ttl=60",
            *ZONE_ARGS], Path(workdir) / "dnsmasq.log")
        ok = False
        deadline = time.monotonic() + PROCESS_START_TIMEOUT
        while time.monotonic() < deadline and self.child.alive():
            if dns_answers(self.port, "dest.test"):
                ok = True
                break
            time.sleep(0.1)
        if not ok:
            self.child.stop()
            pytest.fail(f"dnsmasq did not answer on port {self.port}:\n{self.child.log()}")

    def server(self):
        return f"127.0.0.1:{self.port}"

    def stop(self):
        self.child.stop()


class FakeDns:
    """The scripted fault server: servfail.test -> SERVFAIL, silent.test -> no answer."""

    def __init__(self, workdir):
        self.port = free_port()
        self.query_log = Path(workdir) / "fake-dns-queries.log"
        self.child = Child([PYTHON, FAKE_DNS_SCRIPT, self.port, self.query_log],
                           Path(workdir) / "fake-dns.log")
        deadline = time.monotonic() + PROCESS_START_TIMEOUT
        while not dns_answers(self.port, "servfail.test"):
            if time.monotonic() > deadline or not self.child.alive():
                self.child.stop()
                pytest.fail(f"fake DNS did not answer on port {self.port}:\n{self.child.log()}")
            time.sleep(0.1)

    def server(self):
        return f"127.0.0.1:{self.port}"

    def queries(self, name, qtype="MX"):
        """How many queries for name/qtype reached the server."""
        if not self.query_log.exists():
            return 0
        return sum(1 for line in self.query_log.read_text().splitlines()
                   if line.split()[:2] == [name, qtype])

    def stop(self):
        self.child.stop()


class Recorder:
    """smtp_recorder.py on ip:port; reads back its JSONL journal."""

    def __init__(self, workdir, ip, port, rules=None, data_delay=0.0, hostname=None, tls=None,
                 size_limit=None):
        self.ip, self.port = ip, port
        self.journal = Path(workdir) / f"recorder-{ip}.jsonl"
        argv = [PYTHON, RECORDER_SCRIPT, "--listen", f"{ip}:{port}", "--out", self.journal,
                "--hostname", hostname or f"recorder-{ip}.test", "--data-delay", str(data_delay)]
        for address, spec in (rules or {}).items():
            argv += ["--rule", f"{address}={spec}"]
        if tls:  # (certificate, key): offer STARTTLS
            argv += ["--tls-cert", tls[0], "--tls-key", tls[1]]
        if size_limit is not None:
            argv += ["--size-limit", str(size_limit)]
        self.child = Child(argv, Path(workdir) / f"recorder-{ip}.log", ready_line="READY")

    def events(self, kind=None):
        if not self.journal.exists():
            return []
        out = []
        for line in self.journal.read_text().splitlines():
            try:
                ev = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line still being written
            if kind is None or ev["event"] == kind:
                out.append(ev)
        return out

    def messages(self):
        msgs = self.events("message")
        for m in msgs:
            m["data"] = base64.b64decode(m["data_b64"])
        return msgs

    def delivered_rcpts(self):
        """Every recipient of every recorded message, in order (duplicates kept)."""
        return [r for m in self.messages() for r in m["rcpt_tos"]]

    def connections(self):
        return len(self.events("connect"))

    def max_active(self):
        return max((e["active"] for e in self.events("connect")), default=0)

    def stop(self):
        self.child.stop()


class SmtpSink:
    """Postfix's smtp-sink on ip:port, one dump file per message."""

    def __init__(self, workdir, ip, port, extra_args=()):
        self.ip, self.port = ip, port
        # smtp-sink drops to "nobody" when run as root: it needs a dump
        # directory that user can reach, which pytest's 0700 tmp_path is not.
        self.dump_dir = Path(tempfile.mkdtemp(prefix="ringmta-sink-"))
        os.chmod(self.dump_dir, 0o777)
        argv = [SMTP_SINK]
        if os.geteuid() == 0:
            argv += ["-u", "nobody"]
        argv += ["-h", f"sink-{ip}.test", "-d", f"{self.dump_dir}/m.", *extra_args,
                 f"{ip}:{port}", "64"]
        self.child = Child(argv, Path(workdir) / f"smtp-sink-{ip}.log")
        deadline = time.monotonic() + PROCESS_START_TIMEOUT
        while not _listening(ip, port):
            if time.monotonic() > deadline or not self.child.alive():
                self.stop()
                pytest.fail(f"smtp-sink did not listen on {ip}:{port}:\n{self.child.log()}")
            time.sleep(0.05)

    def messages(self):
        """[{mail_args, rcpt_args: [..], content: bytes}] for complete dump files."""
        out = []
        for path in sorted(self.dump_dir.glob("m.*")):
            raw = path.read_bytes()
            head, sep, content = raw.partition(b"Received: ")
            if not sep:
                continue
            fields = {"mail_args": None, "rcpt_args": []}
            for line in head.decode(errors="replace").splitlines():
                key, _, value = line.partition(": ")
                if key == "X-Mail-Args":
                    fields["mail_args"] = value
                elif key == "X-Rcpt-Args":
                    fields["rcpt_args"].append(value)
            fields["content"] = sep + content
            out.append(fields)
        return out

    def stop(self):
        self.child.stop()
        shutil.rmtree(self.dump_dir, ignore_errors=True)


def _listening(ip, port):
    """A TCP connect probe (only used for smtp-sink, which records no connections)."""
    try:
        with socket.create_connection((ip, port), timeout=0.5):
            return True
    except OSError:
        return False


def mx_port_free_everywhere():
    """A port free on 127.0.0.1 and on every MX address (so all hosts share it)."""
    for _ in range(50):
        port = free_port()
        try:
            for ip in MX_ADDRS:
                with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                    s.bind((ip, port))
            return port
        except OSError:
            continue
    pytest.fail("no TCP port free on all of 127.0.0.2-9")


# ---------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def dns_zone(tmp_path_factory):
    server = Dnsmasq(tmp_path_factory.mktemp("dnsmasq"))
    yield server
    server.stop()


@pytest.fixture
def fake_dns(tmp_path):
    server = FakeDns(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def mx_port():
    return mx_port_free_everywhere()


@pytest.fixture
def remote(tmp_path, mx_port):
    """remote(ip, rules=None, data_delay=0, tls=None) -> a started Recorder on ip:mx_port
    (tls: a (certificate, key) pair to offer STARTTLS with; size_limit: the SIZE it
    announces and enforces)."""
    started = []

    def make(ip, rules=None, data_delay=0.0, hostname=None, tls=None, size_limit=None):
        r = Recorder(tmp_path, ip, mx_port, rules=rules, data_delay=data_delay,
                     hostname=hostname, tls=tls, size_limit=size_limit)
        started.append(r)
        return r

    yield make
    for r in started:
        r.stop()


@pytest.fixture
def sink(tmp_path, mx_port):
    """sink(ip, extra_args=()) -> a started smtp-sink on ip:mx_port."""
    started = []

    def make(ip, extra_args=()):
        s = SmtpSink(tmp_path, ip, mx_port, extra_args)
        started.append(s)
        return s

    yield make
    for s in started:
        s.stop()


def relay_settings(dns_server, mx_port, delivery=None, queue=None, dns=None):
    """Config overrides for a delivering daemon: short timeouts, fast retries."""
    settings = {
        "dns": {"servers": [dns_server], "timeout": "2s"},
        "delivery": {
            "port": mx_port,
            "connect_timeout": "2s",
            "command_timeout": "5s",
            "data_timeout": "5s",
            "connection_idle_timeout": "2s",
        },
        # Nothing expires and no delay notice unless a test asks for it.
        "queue": {"retry_schedule": ["1s"], "max_lifetime": "1h", "delay_warning": "0"},
    }
    settings["dns"].update(dns or {})
    settings["delivery"].update(delivery or {})
    settings["queue"].update(queue or {})
    return settings


@pytest.fixture
def relay(request, daemon_factory, dns_zone, mx_port):
    """relay(delivery=None, queue=None, dns=None, start=True) -> Daemon using dns_zone.

    A test module that sets NO_METRICS = True gets daemons without /metrics:
    its HTTP server (civetweb) adds 1-2 s to every SIGTERM exit, which adds up
    over the ~40 daemons the delivery files start."""
    no_metrics = getattr(request.module, "NO_METRICS", False)

    def make(delivery=None, queue=None, dns=None, start=True, dns_server=None):
        settings = relay_settings(dns_server or dns_zone.server(), mx_port, delivery, queue, dns)
        if no_metrics:
            settings["metrics"] = {"listen": ""}
        return daemon_factory(settings, start=start)

    return make
