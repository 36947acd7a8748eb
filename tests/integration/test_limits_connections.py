"""tests/integration/test_limits_connections.py — abuse limits on connections.

limits.max_connections_per_ip and max_connections (421 4.7.0 and close),
the per-command deadline against a client that trickles one byte at a time,
and 2,000 idle connections that must not keep another client from sending.
Clients use loopback source addresses 127.0.0.2/3 to stand for different
hosts. Every loop here is bounded in count and time.
"""

import resource
import smtplib
import socket
import time

from auth_fixtures import DEAD_RELAYHOST
from conftest import RawSmtp, make_message, queue_id_of


def greeting(sock, timeout=15):
    """The first line the server sends (bytes), or b"" when it closes first."""
    sock.settimeout(timeout)
    buf = b""
    while b"\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf.split(b"\r\n")[0]


def connect(port, source_ip):
    s = socket.create_connection(("127.0.0.1", port), timeout=15, source_address=(source_ip, 0))
    return s


def test_max_connections_per_ip(daemon_factory):
    d = daemon_factory({"limits": {"max_connections_per_ip": 3}})
    held = [connect(d.port, "127.0.0.2") for _ in range(3)]
    try:
        for s in held:
            assert greeting(s).startswith(b"220 "), "the first three are served"
        extra = connect(d.port, "127.0.0.2")
        line = greeting(extra)
        assert line.startswith(b"421 4.7.0") and b"too many connections" in line, line
        extra.settimeout(10)
        assert extra.recv(100) == b""  # closed after the 421
        extra.close()
        # Another address is not affected.
        with RawSmtp(d.port, source=("127.0.0.3", 0)) as c:
            c.greet_ehlo()
        # A slot frees when one closes.
        held.pop().close()
        deadline = time.monotonic() + 10
        while True:
            s = connect(d.port, "127.0.0.2")
            line = greeting(s)
            s.close()
            if line.startswith(b"220 ") or time.monotonic() > deadline:
                break
            time.sleep(0.1)  # the server may not have seen the close yet
        assert line.startswith(b"220 "), line
    finally:
        for s in held:
            s.close()
    d.wait_log("refused: too many connections from this address")


def test_max_connections_total(daemon_factory):
    d = daemon_factory({"limits": {"max_connections": 2, "max_connections_per_ip": 0}})
    time.sleep(0.5)  # the start-up port probe's connection must be gone first
    held = [connect(d.port, ip) for ip in ("127.0.0.2", "127.0.0.3")]
    try:
        for s in held:
            assert greeting(s).startswith(b"220 ")
        extra = connect(d.port, "127.0.0.4")
        line = greeting(extra)
        extra.close()
        assert line.startswith(b"421 4.7.0"), line
    finally:
        for s in held:
            s.close()


def test_slow_drip_command_is_cut_off(daemon):
    # command_timeout is 2s in the test config. One byte every 0.3s keeps the
    # connection active, but the line never ends: the server must give up
    # about 2s after the line's first byte, not wait for ever.
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        start = time.monotonic()
        closed_after = None
        text = b"NOOP " + b"x" * 200
        for i in range(len(text)):  # at most ~60s, far beyond the expected 2s
            try:
                c.sock.sendall(text[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - start
                break
            c.sock.settimeout(0.3)
            try:
                data = c.sock.recv(4096)
            except socket.timeout:
                continue
            except ConnectionResetError:
                closed_after = time.monotonic() - start
                break
            c.buf += data
            if not data or b"421" in c.buf:
                closed_after = time.monotonic() - start
                break
        assert closed_after is not None, "a dripping command kept the connection open"
        assert b"421 4.4.2" in c.buf, c.buf
        assert closed_after >= 1.5  # not before command_timeout


def test_idle_connections_do_not_block_others(daemon_factory):
    n = 2000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    d = daemon_factory({"limits": {"max_connections_per_ip": 0, "command_timeout": "60s"},
                        "delivery": {"relayhost": DEAD_RELAYHOST}})  # the message stays queued
    idle = []
    try:
        for i in range(n):
            # spread over a few source addresses to stay clear of ephemeral-port limits
            idle.append(connect(d.port, f"127.0.1.{i % 50 + 1}"))
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
            s.ehlo("busy.test")
            assert s.mail("a@client.test")[0] == 250
            assert s.rcpt("b@local.test")[0] == 250
            code, resp = s.data(make_message(1))
            assert code == 250, resp
            qid = queue_id_of(resp)
        assert time.monotonic() - t0 < 30  # bounded; a stalled server would time out
        assert d.queue_ids() == [qid]
        # the idle ones are still there and still answered
        assert greeting(idle[0]).startswith(b"220 ")
        assert greeting(idle[-1]).startswith(b"220 ")
    finally:
        for s in idle:
            s.close()
