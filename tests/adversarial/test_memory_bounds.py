"""Bounded memory whatever a client does (issue 15, item 1).

- A client that pipelines commands and never reads the replies is not read
  from any more once 16 KiB of replies wait: TCP back-pressure stops it, the
  daemon's RSS stays flat, and other clients are served meanwhile.
- Such a client is cut off by the command timeout, and its connection is gone
  even though it never reads the last reply.
- A body dripped below limits.min_data_rate ends with 421 4.4.2 at the body's
  total deadline, however often a byte arrives; so does one that came fast
  and then slows to a drip (every data_timeout window must bring its share).
- limits.inflight_memory: a second large body waits while the first holds
  the budget and is finished after it, a small one (64 KiB or less) passes at
  once; all are queued (nothing acknowledged lost).

Memory is read from /proc/PID/status of the daemon this test started. No
timing is asserted: waits are bounded, and only outcomes are checked.
"""

import smtplib
import socket
import time

from integration_conftest import RawSmtp, make_message, queue_id_of
from metrics_checks import parse, scrape, value


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def wait_for(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


def push_until_blocked(sock, chunk, limit_bytes, stall_seconds=3.0, max_seconds=30.0):
    """Send `chunk` repeatedly without reading until `limit_bytes` are sent or the
    socket accepts nothing for `stall_seconds`. Returns the bytes sent."""
    sock.setblocking(False)
    sent = 0
    start = last_progress = time.monotonic()
    view = memoryview(chunk)
    off = 0
    while sent < limit_bytes and time.monotonic() - start < max_seconds:
        try:
            n = sock.send(view[off:])
        except BlockingIOError:
            if time.monotonic() - last_progress > stall_seconds:
                break
            time.sleep(0.01)
            continue
        sent += n
        off = (off + n) % len(chunk)
        last_progress = time.monotonic()
    sock.setblocking(True)
    return sent


def send_one(port, n=0):
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo("normal.test")
        c.sendmail("a@client.test", ["b@local.test"], make_message(n))


def test_pipelining_without_reading_is_held_by_back_pressure(daemon_factory):
    d = daemon_factory({"limits": {"command_timeout": "60s"}})
    pid = d.proc.pid
    send_one(d.port)  # warm up: allocators, TLS-less session path
    before = rss_bytes(pid)
    hostile = socket.create_connection(("127.0.0.1", d.port), timeout=15)
    try:
        sent = push_until_blocked(hostile, b"EHLO a\r\n" * 8192, limit_bytes=64 << 20)
        # Back-pressure: the daemon stopped reading long before 64 MiB; what
        # was sent sits in the two kernels' socket buffers, not in ringmta.
        assert sent < 64 << 20, f"the daemon read all {sent} bytes: no back-pressure"
        grown = rss_bytes(pid) - before
        assert grown < 32 << 20, f"RSS grew by {grown} bytes after {sent} pipelined bytes"
        # Other clients are served while the hostile one is parked.
        send_one(d.port, 1)
        samples = parse(scrape(d))
        assert value(samples, "ringmta_smtp_reads_paused_total", reason="output") >= 1
    finally:
        hostile.close()
    assert d.running()


def test_client_that_never_reads_is_cut_off(daemon_factory):
    d = daemon_factory()  # command_timeout 2s
    hostile = socket.create_connection(("127.0.0.1", d.port), timeout=15)
    try:
        push_until_blocked(hostile, b"NOOP\r\n" * 10000, limit_bytes=64 << 20, stall_seconds=2.0)

        def active():
            return sum(v for (name, _), v in parse(scrape(d)).items() if name == "ringmta_connections_active")
        # The command timeout (2s) answers 421 and closes; the client never reads
        # that reply, so the close is cut short (10 s grace) instead of lasting for ever.
        wait_for(lambda: active() == 0, 40, "the never-reading connection is closed")
        d.wait_log("timeout after command")
    finally:
        hostile.close()


def drip_until_reply(c, max_bytes):
    """One body byte every ~0.5 s (never idle for data_timeout) until the
    server replies or closes; returns what it said. Bounded by max_bytes."""
    c.sock.settimeout(0.5)
    got = b""
    for _ in range(max_bytes):
        try:
            c.sock.sendall(b"x")
        except (BrokenPipeError, ConnectionResetError):
            break
        try:
            chunk = c.sock.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            break
        got += chunk
        if b"\r\n" in got:
            break
    return got


def open_body(d):
    c = RawSmtp(d.port)
    c.greet_ehlo()
    c.expect("MAIL FROM:<a@client.test>", 250)
    c.expect("RCPT TO:<b@local.test>", 250)
    c.expect("DATA", 354)
    return c


RATE_LIMITS = {"limits": {"data_timeout": "2s", "min_data_rate": 1000, "max_message_size": 1 << 20}}


def test_body_dripped_below_min_data_rate_hits_the_total_deadline(daemon_factory):
    d = daemon_factory(RATE_LIMITS)
    with open_body(d) as c:
        # Far below 1000 bytes/s, never idle for 2 s. Bounded: 60 bytes (30 s).
        got = drip_until_reply(c, 60)
        assert got.startswith(b"421 4.4.2"), got
    log = d.wait_log("timeout after data")
    assert "slower than limits.min_data_rate" in log
    assert d.queue_ids() == []


def test_fast_burst_then_drip_is_cut_at_the_next_rate_window(daemon_factory):
    d = daemon_factory(RATE_LIMITS)
    with open_body(d) as c:
        # 200 KB at once would earn a total deadline of 2 s + 200 s; the rate
        # window (every 2 s must bring 2,000 bytes) ends it at the first
        # window without them. Bounded: 60 bytes (30 s), far below 200 s.
        c.send(b"Subject: burst\r\n\r\n" + (b"b" * 98 + b"\r\n") * 2000)
        got = drip_until_reply(c, 60)
        assert got.startswith(b"421 4.4.2"), got
    assert "slower than limits.min_data_rate" in d.wait_log("timeout after data")
    assert d.queue_ids() == []


def test_inflight_budget_makes_a_second_body_wait_and_loses_nothing(daemon_factory):
    d = daemon_factory({"limits": {"inflight_memory": "1M", "max_message_size": 8 << 20,
                                   "data_timeout": "60s", "command_timeout": "60s"}})
    lines = (b"y" * 78 + b"\r\n")
    big_head = b"Subject: first\r\n\r\n" + lines * 20000            # ~1.6 MB, unfinished
    second = b"Subject: second\r\n\r\n" + lines * 2500 + b".\r\n"   # ~200 KB
    small = b"Subject: small\r\n\r\nsmall body\r\n.\r\n"
    a, b, c = (RawSmtp(d.port, timeout=60) for _ in range(3))
    try:
        for s in (a, b, c):
            s.greet_ehlo()
            s.expect("MAIL FROM:<a@client.test>", 250)
            s.expect("RCPT TO:<b@local.test>", 250)
        a.expect("DATA", 354)
        a.send(big_head)
        # A holds more than the whole budget (it may: the first to pass it).
        wait_for(lambda: value(parse(scrape(d)), "ringmta_inflight_memory_bytes") >= 1.5e6, 30,
                 "the first body is held in memory")
        # Small bodies (up to 64 KiB) never wait.
        c.expect("DATA", 354)
        c.send(small)
        code_c, text_c = c.reply()
        assert code_c == 250, text_c
        # A large second body must wait for A: no reply to its end of data meanwhile.
        b.expect("DATA", 354)
        b.sock.setblocking(False)
        try:
            handed = b.sock.send(second)  # as much as the kernel takes; the rest follows below
        except BlockingIOError:
            handed = 0
        b.sock.setblocking(True)
        b.sock.settimeout(1.5)
        try:
            early = b.sock.recv(4096)
        except socket.timeout:
            early = b""
        assert early == b"", f"second body answered while the budget was taken: {early!r}"
        assert value(parse(scrape(d)), "ringmta_smtp_reads_paused_total", reason="inflight") >= 1
        a.send(b"tail\r\n.\r\n")
        code_a, text_a = a.reply()
        b.sock.settimeout(60)
        b.send(second[handed:])
        code_b, text_b = b.reply()
        assert (code_a, code_b) == (250, 250), (text_a, text_b)
        ids = {queue_id_of(text_a), queue_id_of(text_b), queue_id_of(text_c)}
        assert ids <= set(d.queue_ids())
        assert d.queue_cat(queue_id_of(text_a)).endswith(b"tail\r\n")
        wait_for(lambda: value(parse(scrape(d)), "ringmta_inflight_memory_bytes") == 0, 30,
                 "the budget is released after the commits")
    finally:
        for s in (a, b, c):
            s.close()
