"""tests/integration/test_cli.py — the command lines of ringmta and ringmtactl.

Operators meet the relay through its CLI first: --version/--help, config
validation that names file, line and key (exit 2), the embedded default
configuration when no --config is given, and ringmtactl's error for an
unknown queue ID.
"""

import signal
import smtplib
import socket
import subprocess
import time

import pytest

from conftest import (make_message, port_open, render_toml, default_settings,
                      ringmta_bin, ringmtactl_bin, smtplib_send, START_TIMEOUT)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL, **kw)


def test_version():
    cp = run([str(ringmta_bin()), "--version"])
    assert cp.returncode == 0, cp.stderr
    assert "ringmta" in (cp.stdout + cp.stderr).lower()
    assert any(ch.isdigit() for ch in cp.stdout + cp.stderr)


def test_help():
    cp = run([str(ringmta_bin()), "--help"])
    assert cp.returncode == 0, cp.stderr
    out = cp.stdout + cp.stderr
    for opt in ("--config", "--check-config", "--version"):
        assert opt in out, out


def test_unknown_option_fails():
    cp = run([str(ringmta_bin()), "--no-such-option"])
    assert cp.returncode != 0


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _good_text(tmp_path):
    return render_toml(default_settings(25250, tmp_path / "data"))


def test_check_config_good(tmp_path):
    p = _write(tmp_path, "good.toml", _good_text(tmp_path))
    cp = run([str(ringmta_bin()), "--config", str(p), "--check-config"])
    assert cp.returncode == 0, cp.stderr
    assert "configuration OK" in cp.stdout + cp.stderr


def _line_of(text, needle):
    for n, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return n
    raise AssertionError(f"{needle!r} not in config text")


@pytest.mark.parametrize("case,needle,replacement,key", [
    ("unknown_key", 'hostname = "mx.test.example"',
     'hostname = "mx.test.example"\nbogus_knob = 1', "bogus_knob"),
    ("wrong_type", "threads = 2", 'threads = "two"', "threads"),
    ("bad_duration", 'shutdown_timeout = "5s"', 'shutdown_timeout = "5 parsecs"',
     "shutdown_timeout"),
    ("negative_count", "max_recipients = 5", "max_recipients = -3", "max_recipients"),
    ("bad_cidr", 'trusted_networks = ["127.0.0.1/32"]', 'trusted_networks = ["127.0.0.1/99"]',
     "trusted_networks"),
    ("bad_durability", 'durability = "fsync"', 'durability = "sometimes"', "durability"),
])
def test_check_config_bad(tmp_path, case, needle, replacement, key):
    text = _good_text(tmp_path).replace(needle, replacement)
    assert text != _good_text(tmp_path)
    name = f"{case}.toml"
    p = _write(tmp_path, name, text)
    line = _line_of(text, replacement.split("\n")[-1])
    cp = run([str(ringmta_bin()), "--config", str(p), "--check-config"])
    assert cp.returncode == 2, (cp.returncode, cp.stdout, cp.stderr)
    assert f"{name}:{line}" in cp.stderr, cp.stderr
    assert key in cp.stderr, cp.stderr
    assert "configuration OK" not in cp.stdout


def test_bad_config_stops_daemon_start(tmp_path):
    text = _good_text(tmp_path).replace("threads = 2", 'threads = "two"')
    p = _write(tmp_path, "bad.toml", text)
    cp = run([str(ringmta_bin()), "--config", str(p)])
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert f"bad.toml:{_line_of(text, 'threads')}" in cp.stderr


def test_toml_syntax_error(tmp_path):
    p = _write(tmp_path, "broken.toml", "[server\nhostname = \n")
    cp = run([str(ringmta_bin()), "--config", str(p), "--check-config"])
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert "broken.toml:1" in cp.stderr or "broken.toml:2" in cp.stderr, cp.stderr


def test_missing_config_file(tmp_path):
    cp = run([str(ringmta_bin()), "--config", str(tmp_path / "nope.toml"), "--check-config"])
    assert cp.returncode == 2, (cp.returncode, cp.stderr)
    assert "nope.toml" in cp.stderr


def test_ready_is_logged(daemon):
    assert "ready" in daemon.log()


def test_ctl_unknown_id(daemon):
    cp = daemon.ctl("queue", "cat", "NOSUCHID0000000", check=False)
    assert cp.returncode == 1, (cp.returncode, cp.stderr)
    assert cp.stderr.strip(), "no message on stderr"
    assert cp.stdout == b""


def test_ctl_with_config_file(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        qid = smtplib_send(s, "a@client.test", ["b@local.test"], make_message(3))
    cp = run([str(ringmtactl_bin()), "--config", str(daemon.config_path), "queue", "list"])
    assert cp.returncode == 0, cp.stderr
    assert cp.stdout.split()[0] == qid


def test_embedded_default_config(tmp_path):
    """No --config: SMTP on 127.0.0.1:2525, data in ./ringmta-data."""
    if port_open(2525):
        pytest.skip("127.0.0.1:2525 is busy")
    if port_open(9587):
        pytest.skip("127.0.0.1:9587 (the default metrics.listen) is busy")
    if port_open(25):
        pytest.skip("something listens on 127.0.0.1:25: the test message would leave the queue")
    with socket.socket() as probe:
        # SO_REUSEADDR like the daemon: TIME_WAIT leftovers must not skip the test.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", 2525))
        except OSError:
            pytest.skip("127.0.0.1:2525 cannot be bound")
    log = open(tmp_path / "default.log", "wb")
    proc = subprocess.Popen([str(ringmta_bin())], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not port_open(2525):
            assert proc.poll() is None, (tmp_path / "default.log").read_text()
            assert time.monotonic() < deadline, "default daemon did not listen on 2525"
            time.sleep(0.05)
        with smtplib.SMTP("127.0.0.1", 2525, timeout=30) as s:
            s.ehlo("client.test")
            # An address literal on loopback: the default config delivers by MX, and
            # a test must not reach outside 127.0.0.0/8 (port 25 there refuses).
            qid = smtplib_send(s, "a@client.test", ["b@[127.0.0.1]"], make_message(4))
        assert (tmp_path / "ringmta-data").is_dir()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        assert rc == 0, (tmp_path / "default.log").read_text()
        cp = run([str(ringmtactl_bin()), "--data-dir", str(tmp_path / "ringmta-data"),
                  "queue", "list"])
        assert cp.returncode == 0 and qid in cp.stdout, cp
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        log.close()
        print((tmp_path / "default.log").read_text(errors="replace")[-4000:])
