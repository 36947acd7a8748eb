"""tests/integration/test_proxy_protocol.py — PROXY protocol v1/v2 listeners.

A listener with proxy_protocol = true takes the client address from the
header: it is what the logs show, what relay policy (trusted_networks) and
the Received: header use, and what ends up in the queue envelope. The load
balancer is simulated by writing the header ourselves on a loopback socket.
A connection without a valid header gets no greeting and is closed; that is
logged and counted (ringmta_proxy_protocol_refused_total).
"""

import socket
import struct
import time

from conftest import RawSmtp, make_message, queue_id_of
from delivery_checks import wait_for
from metrics_checks import parse, scrape, value

TRUSTED_CLIENT = "10.1.2.3"       # in trusted_networks below: may relay
OUTSIDE_CLIENT = "203.0.113.9"    # not trusted: local domains only
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, sport, dst="127.0.0.1", dport=25):
    family = "TCP6" if ":" in src else "TCP4"
    return f"PROXY {family} {src} {dst} {sport} {dport}\r\n".encode()


def v2(src, sport, dst="127.0.0.1", dport=25, local=False):
    if local:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack(">H", 0)
    if ":" in src:
        addrs = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst)
        fam = 0x21
    else:
        addrs = socket.inet_aton(src) + socket.inet_aton(dst)
        fam = 0x11
    body = addrs + struct.pack(">HH", sport, dport)
    return V2_SIG + bytes([0x21, fam]) + struct.pack(">H", len(body)) + body


def proxy_daemon(daemon_factory):
    d = daemon_factory({"relay": {"trusted_networks": [f"{TRUSTED_CLIENT}/32"], "local_domains": ["local.test"]}},
                       start=False)
    d.settings["listener"][0]["proxy_protocol"] = True
    from conftest import render_toml
    d.config_path.write_text(render_toml(d.settings))
    # The fixture's start-up probe connects without a header: one refusal
    # is logged before the test begins.
    return d.start()


def connect(d, header):
    c = RawSmtp(d.port)
    c.send(header)
    return c


def log_lines(d, needle):
    return [l for l in d.log().splitlines() if needle in l]


def wait_log(d, needle, timeout=10):
    return wait_for(lambda: log_lines(d, needle), timeout, f"log line with {needle!r}", d)


def test_v1_header_sets_client_for_logs_policy_and_queue(daemon_factory):
    d = proxy_daemon(daemon_factory)
    # Untrusted source: relaying refused, local domain accepted.
    with connect(d, v1(OUTSIDE_CLIENT, 40001)) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        code, text = c.cmd("RCPT TO:<x@far.example>")
        assert code == 550 and text.startswith("5.7.1"), (code, text)
        c.expect("RCPT TO:<postmaster@local.test>", 250)
        c.expect("DATA", 354)
        code, text = c.cmd(make_message(1).decode() + ".")
        assert code == 250, text
        qid = queue_id_of(text)
        c.expect("QUIT", 221)
    wait_log(d, f"{qid}: accepted client=[{OUTSIDE_CLIENT}]:40001")
    [connect_line] = log_lines(d, f"connect client=[{OUTSIDE_CLIENT}]:40001, ")
    assert ", proxy=[127.0.0.1]:" in connect_line, connect_line   # the load balancer's own address
    # Our Received: header names the real client, not the load balancer.
    received = d.queue_cat(qid).decode(errors="replace").split("\r\n")[0]
    assert received == f"Received: from client.test ([{OUTSIDE_CLIENT}])", received

    # Trusted source (via the header): relaying allowed.
    with connect(d, v1(TRUSTED_CLIENT, 40002)) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<x@far.example>", 250)
        c.expect("QUIT", 221)
    wait_log(d, f"connect client=[{TRUSTED_CLIENT}]:40002")


def test_v2_header_ipv4_ipv6_and_local(daemon_factory):
    d = proxy_daemon(daemon_factory)
    with connect(d, v2(TRUSTED_CLIENT, 40003)) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<x@far.example>", 250)   # trusted by the header's address
        c.expect("QUIT", 221)
    wait_log(d, f"connect client=[{TRUSTED_CLIENT}]:40003")
    with connect(d, v2("2001:db8::7", 40004, dst="2001:db8::1")) as c:
        c.greet_ehlo()
        code, _ = c.cmd("MAIL FROM:<a@client.test>")
        assert code == 250
        code, text = c.cmd("RCPT TO:<x@far.example>")
        assert code == 550, text
    wait_log(d, "connect client=[2001:db8::7]:40004")
    # LOCAL (a load balancer's health check): the connection's own address.
    with connect(d, v2("", 0, local=True)) as c:
        c.greet_ehlo()
        c.expect("QUIT", 221)
    wait_for(lambda: [l for l in log_lines(d, "connect client=[127.0.0.1]:") if "proxy=" not in l], 10,
             "a connect line with the connection's own address and no proxy=", d)


def test_header_and_commands_in_one_segment(daemon_factory):
    d = proxy_daemon(daemon_factory)
    with connect(d, v1(TRUSTED_CLIENT, 40005) + b"EHLO pipelined.test\r\n") as c:
        code, _ = c.reply()
        assert code == 220
        code, text = c.reply()
        assert code == 250 and "PIPELINING" in text, text
    wait_log(d, f"connect client=[{TRUSTED_CLIENT}]:40005")


def test_connection_without_header_is_refused(daemon_factory):
    d = proxy_daemon(daemon_factory)
    before = value(parse(scrape(d)), "ringmta_proxy_protocol_refused_total")
    # Speaks SMTP at once: no greeting, closed.
    with RawSmtp(d.port) as c:
        c.send(b"EHLO direct.test\r\n")
        assert c.closed_by_peer(timeout=10)
        assert c.buf == b""
    # A broken v1 header.
    with RawSmtp(d.port) as c:
        c.send(b"PROXY TCP4 999.0.0.1 127.0.0.1 1 25\r\n")
        assert c.closed_by_peer(timeout=10)
    # Silence: closed after limits.command_timeout (2s in the tests).
    started = time.monotonic()
    with RawSmtp(d.port) as c:
        assert c.closed_by_peer(timeout=15)
    assert time.monotonic() - started >= 1.5
    # The log line may follow the close by a moment: wait for each reason.
    for reason in ("(no PROXY protocol header)", "(PROXY v1: bad IPv4 address)",
                   "(no PROXY header within 2s)"):
        line = wait_log(d, reason)[0]
        assert "PROXY protocol: connection refused: client=[127.0.0.1]:" in line
    wait_for(lambda: value(parse(scrape(d)), "ringmta_proxy_protocol_refused_total") == before + 3, 10,
             "3 more refusals counted", d)
