"""TLS handshake floods (issue 15, item 9): limits.tls_handshake_rate (all
clients) and limits.tls_handshake_rate_per_ip (one client, trusted networks
exempt). A handshake past the budget never starts: STARTTLS is answered
454 4.7.0 and the session goes on in plaintext; an implicit-TLS connection is
closed before any key exchange. Real clients: Python's ssl over STARTTLS and
on connect, and openssl s_client. Figures under load are in bench/hostile.py.
"""

import socket
import ssl
import subprocess

from integration_conftest import RawSmtp, free_port, render_toml
from metrics_checks import parse, scrape, value

UNTRUSTED = ("127.0.0.2", 0)  # not in the test's trusted_networks (127.0.0.1/32)


def client_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the daemon's self-signed certificate
    return ctx


def starttls(port, source=None):
    """EHLO, STARTTLS; on 220 finish the handshake and EHLO again inside TLS.
    Returns the STARTTLS reply code."""
    with RawSmtp(port, source=source) as c:
        c.greet_ehlo()
        code, text = c.cmd("STARTTLS")
        if code != 220:
            # Refused: the session goes on in plaintext.
            c.expect("EHLO again.test", 250)
            c.expect("MAIL FROM:<a@client.test>", 250)
            c.expect("QUIT", 221)
            return code, text
        with client_context().wrap_socket(c.sock, server_hostname="mx.test.example") as t:
            t.sendall(b"EHLO inside.test\r\n")
            got = b""
            while b"250 " not in got:
                chunk = t.recv(4096)
                assert chunk, got
                got += chunk
        return code, text


def test_per_client_budget_refuses_starttls_with_454(daemon_factory):
    d = daemon_factory({"limits": {"tls_handshake_rate_per_ip": 3}})
    for _ in range(3):
        assert starttls(d.port, UNTRUSTED)[0] == 220
    code, text = starttls(d.port, UNTRUSTED)
    assert (code, text) == (454, "4.7.0 TLS not available due to temporary reason")
    # A trusted client is exempt from the per-client budget.
    assert starttls(d.port)[0] == 220
    assert value(parse(scrape(d)), "ringmta_tls_handshakes_refused_total", reason="client") == 1
    d.wait_log("TLS handshake refused for [127.0.0.2]: too many from this client")


def test_total_budget_applies_to_everyone(daemon_factory):
    d = daemon_factory({"limits": {"tls_handshake_rate": 1}})
    codes = [starttls(d.port)[0] for _ in range(20)]  # bounded: 20 sessions, well under a second each
    assert codes[0] == 220
    assert 454 in codes, codes
    assert value(parse(scrape(d)), "ringmta_tls_handshakes_refused_total", reason="total") == codes.count(454)


def test_implicit_tls_connection_over_budget_is_closed(daemon_factory):
    subs = free_port()
    d = daemon_factory(start=False, overrides={"limits": {"tls_handshake_rate_per_ip": 1}})
    d.settings["listener"].append({"address": f"127.0.0.1:{subs}", "kind": "submissions"})
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    raw = socket.create_connection(("127.0.0.1", subs), timeout=15, source_address=UNTRUSTED)
    with client_context().wrap_socket(raw, server_hostname="mx.test.example") as t:
        assert t.recv(4096).startswith(b"220 ")
    # The second handshake from that client never starts: openssl s_client sees the close.
    cp = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{subs}", "-bind", "127.0.0.2:0",
                         "-brief"], input=b"", capture_output=True, timeout=30)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert cp.returncode != 0, out
    assert "220 " not in out
    assert value(parse(scrape(d)), "ringmta_tls_handshakes_refused_total", reason="client") == 1
