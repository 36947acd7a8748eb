"""tests/integration/conftest.py — fixtures that run the real ringmta daemon.

Integration tests drive the built `ringmta` binary over loopback with real
clients (smtplib, swaks, raw sockets) and inspect its queue with `ringmtactl`.
This file finds the binaries, writes a per-test TOML config into tmp_path,
starts the daemon on a free 127.0.0.1 port, and always ends the process it
started (by PID) in teardown, printing the daemon log tail so a failing test
shows what the daemon said.

Binaries: $RINGMTA_BIN / $RINGMTACTL_BIN if set, else looked up in
$RINGMTA_BUILD_DIR (default <repo>/build), at its top or under relay/.
"""

import json
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_DIR = Path(os.environ.get("RINGMTA_BUILD_DIR", REPO / "build"))

START_TIMEOUT = 20.0   # seconds for the daemon to start listening
STOP_TIMEOUT = 30.0    # seconds for SIGTERM to end it (shutdown_timeout is 5s in tests)
IO_TIMEOUT = 15.0      # any single socket read in a test

# "250 2.0.0 Ok: queued as 0123ABCD..." (angle brackets tolerated).
QUEUED_RE = re.compile(r"queued as <?([0-9A-Za-z]+)>?")


def find_binary(name, env_var):
    """Path of a built binary, or pytest.fail with where we looked."""
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit)
    candidates = [BUILD_DIR / name, BUILD_DIR / "relay" / name]
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(f"{name} not built: looked in {', '.join(map(str, candidates))} "
                f"(set RINGMTA_BUILD_DIR or {env_var})")


def ringmta_bin():
    return find_binary("ringmta", "RINGMTA_BIN")


def ringmtactl_bin():
    return find_binary("ringmtactl", "RINGMTACTL_BIN")


# ---------------------------------------------------------------- ports
#
# A port picked with bind(0) and closed again is free for anyone, so two
# pickers could hand out the same number: once the "dead" relayhost port was
# the daemon's own listen port and it relayed to itself ~500 times. So every
# port handed out here stays bound by a socket this process holds until the
# test ends (see the autouse fixture `held_ports`); the kernel never gives a
# port held that way to anyone else's bind(0) or to an outgoing connect.
#
# - free_port(): held with SO_REUSEADDR and SO_REUSEPORT and never listening,
#   so the server it is meant for can still bind and listen on it: ringmta's
#   SMTP listeners set both options (engine/reactor_io.cpp), its metrics
#   listener (civetweb) and admin TCP listener set SO_REUSEADDR, and so do
#   dnsmasq, Postfix's smtp-sink, asyncio servers and fake_dns.py.
# - dead_port(): held with neither option: nothing else can bind it at all,
#   and a connect to it is refused (the socket never listens).

_HELD = []  # every holding socket, in the order handed out


def _hold(reusable):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if reusable:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", 0))
    except OSError:
        s.close()
        raise
    _HELD.append(s)
    return s.getsockname()[1]


def free_port():
    """A TCP port on 127.0.0.1 for a server of this test to bind (held, see above)."""
    return _hold(reusable=True)


def dead_port():
    """A TCP port on 127.0.0.1 where nothing listens or can listen while the test runs."""
    return _hold(reusable=False)


@pytest.fixture(autouse=True)
def held_ports():
    """Releases the ports handed out during a test once it (and its daemons) ended.
    Autouse fixtures are set up first and torn down last, so every daemon of the
    test is stopped before its ports are let go. Ports handed out by wider-scoped
    fixtures (set up before this) stay held until the process ends."""
    mark = len(_HELD)
    yield
    mine = _HELD[mark:]
    del _HELD[mark:]
    for s in mine:
        s.close()


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- config

def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)  # a JSON string is a valid TOML basic string for our values
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def default_settings(port, data_dir):
    """The test configuration as nested dicts (section -> key -> value)."""
    return {
        "server": {
            "hostname": "mx.test.example",
            "data_dir": str(data_dir),
            "threads": 2,
            "shutdown_timeout": "5s",
        },
        "listener": [{"address": f"127.0.0.1:{port}", "kind": "smtp"}],
        "relay": {
            "trusted_networks": ["127.0.0.1/32"],
            "local_domains": ["local.test"],
        },
        "limits": {
            "max_message_size": 100000,
            "max_recipients": 5,
            "command_timeout": "2s",
            "data_timeout": "3s",
            "max_errors": 5,
        },
        "queue": {"durability": "fsync"},
        # Tests of the SMTP side check what is queued, so by default nothing
        # leaves: everything goes to a loopback port nobody listens on and is
        # deferred (refused at once). Delivery tests pass their own [delivery],
        # which replaces this one as a whole (see Daemon.__init__).
        "delivery": {"relayhost": f"[127.0.0.1]:{dead_port()}", "connect_timeout": "2s"},
        # Every daemon its own /metrics port: tests run in parallel, and the
        # default 127.0.0.1:9587 would let only one of them start.
        "metrics": {"listen": f"127.0.0.1:{free_port()}"},
        # Tests read the log right after the SMTP reply they wait for; with
        # the default batching a line shows up to 100 ms later. Unbuffered,
        # each line is written as soon as it is logged. (A test that sets
        # [log] keeps this unless it sets buffered itself; test_logs_buffered
        # covers the default.)
        "log": {"buffered": False},
    }


def render_toml(settings):
    out = []
    for section, body in settings.items():
        if isinstance(body, list):  # array of tables
            for table in body:
                out.append(f"[[{section}]]")
                out.extend(f"{k} = {_toml_value(v)}" for k, v in table.items())
                out.append("")
        else:
            out.append(f"[{section}]")
            out.extend(f"{k} = {_toml_value(v)}" for k, v in body.items()
                       if not isinstance(v, dict))
            out.append("")
            # A dict value is a sub-table ([delivery.routes]); its keys are
            # quoted because they are domain names with dots.
            for name, sub in body.items():
                if isinstance(sub, dict):
                    out.append(f"[{section}.{name}]")
                    out.extend(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in sub.items())
                    out.append("")
    return "\n".join(out)


# ---------------------------------------------------------------- daemon

class Daemon:
    """One ringmta process with its own config, data dir and log file."""

    def __init__(self, workdir, settings_overrides=None):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.data_dir = self.workdir / "data"
        self.settings = default_settings(self.port, self.data_dir)
        for section, values in (settings_overrides or {}).items():
            if section == "delivery":
                self.settings[section] = dict(values)  # no default relayhost left behind
            elif isinstance(values, dict):
                self.settings.setdefault(section, {}).update(values)
            else:
                self.settings[section] = values
        self.config_path = self.workdir / "ringmta.toml"
        self.config_path.write_text(render_toml(self.settings))
        self.log_path = self.workdir / "ringmta.log"
        self.proc = None
        self._log_file = None
        self.starts = 0

    # -- lifecycle
    def start(self):
        assert self.proc is None, "daemon already running"
        self._log_file = open(self.log_path, "ab")
        self._log_file.write(f"=== start #{self.starts + 1} ===\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            [str(ringmta_bin()), "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=self._log_file, stderr=self._log_file,
            cwd=self.workdir)
        self.starts += 1
        marker = f"=== start #{self.starts} ==="
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self._reap()
                pytest.fail(f"ringmta exited with {rc} during start-up:\n{self.log_tail()}")
            # The port alone is not enough after a kill -9: the killed
            # daemon's io_uring may keep its listening sockets open for a
            # moment after the process is gone (the ring is torn down
            # asynchronously), and they share the port (SO_REUSEPORT). So
            # wait for this start's own "ringmta ready" line too.
            if port_open(self.port) and "ringmta ready" in self.log().rpartition(marker)[2]:
                return self
            time.sleep(0.05)
        pytest.fail(f"ringmta did not listen on 127.0.0.1:{self.port} within "
                    f"{START_TIMEOUT}s:\n{self.log_tail()}")

    def stop(self, expect_rc=0):
        """SIGTERM, wait, and assert the exit code (0: clean shutdown)."""
        assert self.proc is not None, "daemon not running"
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self._reap()
            pytest.fail(f"ringmta did not exit within {STOP_TIMEOUT}s of SIGTERM:\n"
                        f"{self.log_tail()}")
        self._reap()
        if expect_rc is not None:
            assert rc == expect_rc, f"ringmta exit code {rc} after SIGTERM:\n{self.log_tail()}"
        return rc

    def kill9(self):
        assert self.proc is not None, "daemon not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reap()

    def restart(self):
        if self.proc is not None:
            self.stop()
        return self.start()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self):
        """Teardown: end our own process (by its PID) if it still runs."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
            self._reap()

    def _reap(self):
        self.proc = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    # -- inspection
    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=60):
        return "\n".join(self.log().splitlines()[-lines:])

    def wait_log(self, needle, count=1, timeout=10.0):
        """The log's text once `needle` occurs `count` times. A writer thread
        writes the log, so a line may land just after the reply a client saw."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if log.count(needle) >= count:
                return log
            if time.monotonic() >= deadline:
                pytest.fail(f"no {count}x {needle!r} in the log after {timeout}s\n{self.log_tail()}")
            time.sleep(0.05)

    def ctl(self, *args, check=True, timeout=60):
        """Run `ringmtactl --data-dir DIR args...`; returns CompletedProcess (bytes)."""
        cp = subprocess.run([str(ringmtactl_bin()), "--data-dir", str(self.data_dir), *args],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        if check:
            assert cp.returncode == 0, (
                f"ringmtactl {' '.join(args)} exited {cp.returncode}: "
                f"{cp.stderr.decode(errors='replace')}")
        return cp

    def queue_list_json(self):
        out = self.ctl("queue", "list", "--json").stdout.decode()
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def queue_ids(self):
        return [m["id"] for m in self.queue_list_json()]

    def queue_cat(self, qid):
        return self.ctl("queue", "cat", qid).stdout


@pytest.fixture
def daemon_factory(tmp_path):
    """daemon_factory(overrides=None, start=True) -> Daemon; all are ended in teardown."""
    made = []

    def make(overrides=None, start=True, name=None):
        workdir = tmp_path / (name or f"d{len(made)}")
        workdir.mkdir()
        d = Daemon(workdir, overrides)
        made.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in made:
        d.cleanup()
        print(f"--- ringmta log tail ({d.log_path}) ---\n{d.log_tail()}")


@pytest.fixture
def daemon(daemon_factory):
    return daemon_factory()


# ---------------------------------------------------------------- SMTP helpers

class RawSmtp:
    """A byte-exact SMTP client on a plain socket, so tests control every byte."""

    def __init__(self, port, host="127.0.0.1", source=None, timeout=IO_TIMEOUT):
        self.sock = socket.create_connection((host, port), timeout=timeout,
                                             source_address=source)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

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
        self.sock.sendall(data)

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"server closed the connection; pending {self.buf!r}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", errors="replace")

    def reply(self):
        """One (possibly multi-line) reply -> (code, text with lines joined by \\n)."""
        lines = []
        while True:
            line = self._line()
            assert len(line) >= 3 and line[:3].isdigit(), f"malformed reply line {line!r}"
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return int(line[:3]), "\n".join(lines)
            assert line[3] == "-", f"malformed reply line {line!r}"

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def expect(self, line, code):
        got = self.cmd(line)
        assert got[0] == code, f"{line!r}: expected {code}, got {got}"
        return got

    def greet_ehlo(self, name="client.test"):
        code, text = self.reply()
        assert code == 220, (code, text)
        return self.expect(f"EHLO {name}", 250)

    def closed_by_peer(self, timeout=IO_TIMEOUT):
        """True once the server closes (EOF or reset) within timeout; leftover bytes ignored."""
        self.sock.settimeout(timeout)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        return False


def queue_id_of(text):
    """The queue ID in a 250 reply text (bytes or str); asserts it is there."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    m = QUEUED_RE.search(text)
    assert m, f"no 'queued as <ID>' in reply {text!r}"
    return m.group(1)


def dot_stuff(message):
    """RFC 5321 4.5.2 transparency: a leading '.' on any line gets one more '.'."""
    assert message.endswith(b"\r\n")
    lines = message.split(b"\r\n")
    return b"\r\n".join(b"." + l if l.startswith(b".") else l for l in lines)


def smtplib_send(client, sender, recipients, message, mail_options=()):
    """MAIL/RCPT/DATA on an smtplib.SMTP connection; returns the queue ID of the 250."""
    code, resp = client.mail(sender, list(mail_options))
    assert code == 250, (code, resp)
    for r in recipients:
        code, resp = client.rcpt(r)
        assert code == 250, (r, code, resp)
    code, resp = client.data(message)
    assert code == 250, (code, resp)
    return queue_id_of(resp)


def make_message(n=0, body_lines=5, subject=None):
    """A small RFC 5322 message with CRLF line ends, distinct per n."""
    subject = subject or f"test message {n}"
    hdr = (f"From: sender@client.test\r\nTo: rcpt@local.test\r\n"
           f"Subject: {subject}\r\nMessage-ID: <m{n}.{time.time_ns()}@client.test>\r\n\r\n")
    body = "".join(f"line {i} of message {n}\r\n" for i in range(body_lines))
    return (hdr + body).encode()
