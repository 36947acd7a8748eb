"""tests/integration/test_metrics.py — /metrics on a running daemon.

Scrapes with curl while messages are accepted, deferred, delivered and
bounced (real remote MX hosts from delivery_fixtures: aiosmtpd recorders on
127.0.0.x behind dnsmasq), checks every scrape with `promtool check metrics`
and checks that the counters, gauges and histograms move by exactly what
happened. Also: TLS and AUTH failure counters, a taken metrics port stops
the start, metrics.listen = "" turns the endpoint off.
"""

import base64
import os
import smtplib
import socket
import ssl
import subprocess
from pathlib import Path

import pytest

from auth_fixtures import auth_daemon
from conftest import RawSmtp, make_message, ringmta_bin, smtplib_send
from delivery_checks import SENDER, message_with, send, wait_for, wait_lines
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    BOUNCE_IP, dns_zone, mx_port, relay, remote)
from metrics_checks import families, parse, promtool_check, scrape, value

TIMEOUT = 30.0


def scraped(d):
    """One scrape, promtool-checked, parsed."""
    text = scrape(d)
    promtool_check(text)
    return parse(text)


def wait_metric(d, predicate, what):
    """Scrape until predicate(samples) holds (the queue census is cached ~5 s)."""
    return wait_for(lambda: (lambda s: s if predicate(s) else None)(parse(scrape(d))), TIMEOUT, what, d,
                    interval=0.5)


def test_counters_move_with_accepted_and_deferred_mail(daemon_factory):
    d = daemon_factory()  # relayhost: a dead loopback port -> every attempt defers
    listener = d.settings["listener"][0]["address"]
    before = scraped(d)
    assert value(before, "ringmta_messages_received_total") == 0
    conns = value(before, "ringmta_connections_total", listener=listener)  # the fixture's start-up probe
    assert value(before, "ringmta_queue_messages", state="scheduled") == 0

    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        for n in range(2):
            smtplib_send(s, "a@client.test", ["x@far.test"], make_message(n))
    wait_lines(d, 2, status="deferred")

    s = wait_metric(d, lambda s: value(s, "ringmta_queue_messages", state="scheduled") == 2
                    and value(s, "ringmta_connections_active", listener=listener) == 0, "2 queued messages")
    promtool_check(scrape(d))
    assert value(s, "ringmta_messages_received_total") == 2
    assert value(s, "ringmta_connections_total", listener=listener) == conns + 1
    assert value(s, "ringmta_recipients_deferred_total") == 2
    assert value(s, "ringmta_recipients_delivered_total") == 0
    assert value(s, "ringmta_recipients_bounced_total") == 0
    assert value(s, "ringmta_smtp_transaction_seconds_count") == 2
    assert value(s, "ringmta_smtp_transaction_seconds_bucket", le="+Inf") == 2
    assert value(s, "ringmta_smtp_commit_seconds_count") == 2
    assert 0 < value(s, "ringmta_smtp_commit_seconds_sum") < 5
    # Two accepted messages and the first one's deferral write; the second is
    # written already deferred if the first attempt had marked the relayhost
    # down by then (delivery.destination_down_time), else it too gets a write.
    assert value(s, "ringmta_queue_commit_batch_size_sum") in (3, 4)
    assert value(s, "ringmta_queue_fsync_seconds_count") >= 1
    assert value(s, "ringmta_queue_messages", state="ready") == 0
    assert value(s, "ringmta_queue_messages", state="held") == 0
    assert value(s, "ringmta_queue_oldest_age_seconds") > 0
    assert value(s, "ringmta_destination_queue_messages", domain="far.test") == 2
    errors = [dict(k[1]) for k in s if k[0] == "ringmta_destination_last_error_info"]
    assert len(errors) == 1 and errors[0]["domain"] == "far.test", errors
    assert "Connection refused" in errors[0]["error"], errors


def test_counters_move_with_delivery_and_bounces(relay, remote):
    mx = remote("127.0.0.2", rules={"bad@dest.test": "550", "later@dest.test": "450"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    assert value(scraped(d), "ringmta_recipients_delivered_total") == 0

    qid = send(d, SENDER, ["good@dest.test", "bad@dest.test", "later@dest.test", "who@nowhere.test"],
               message_with("metrics"))
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "the good recipient's delivery", d)
    wait_for(lambda: bounces.messages(), TIMEOUT, "the bounce's delivery", d)
    wait_lines(d, 1, qid=qid, rcpt="later@dest.test", status="deferred")

    s = wait_metric(d, lambda s: value(s, "ringmta_recipients_delivered_total") == 2
                    and value(s, "ringmta_destination_queue_messages", domain="dest.test") == 1,
                    "the delivered recipient and the bounce, and later@ still queued")
    promtool_check(scrape(d))
    assert value(s, "ringmta_messages_received_total") == 1   # the bounce is generated, not received
    # good@dest.test and the bounce to alice@sender.test.
    assert value(s, "ringmta_delivery_duration_seconds_count") == 2
    # bad@ (550) and who@nowhere.test (NXDOMAIN), in one non-delivery notice.
    assert value(s, "ringmta_recipients_bounced_total") == 2
    assert value(s, "ringmta_bounces_generated_total") == 1
    assert value(s, "ringmta_recipients_deferred_total") >= 1   # later@ (450), maybe retried meanwhile
    assert value(s, "ringmta_dns_failures_total", kind="nxdomain") == 1
    assert value(s, "ringmta_dns_failures_total", kind="tempfail") == 0
    assert value(s, "ringmta_dns_lookup_seconds_count") >= 3   # dest.test, nowhere.test, sender.test
    errors = {dict(k[1])["domain"]: dict(k[1])["error"] for k in s if k[0] == "ringmta_destination_last_error_info"}
    assert "450" in errors.get("dest.test", ""), errors


def test_tls_and_auth_failure_counters(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        version = s.sock.version()   # "TLSv1.3"
        s.ehlo("client.test")
        # One AUTH command (smtplib.login would try PLAIN, then LOGIN: two failures).
        code, _ = s.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0alice\0wrong-password").decode())
        assert code == 535
    # A handshake that fails: garbage instead of a ClientHello.
    with RawSmtp(d.port) as c:
        c.greet_ehlo()
        c.expect("STARTTLS", 220)
        c.send(b"this is not TLS at all\r\n" * 4)
        assert c.closed_by_peer(timeout=10)

    s = wait_metric(d, lambda s: value(s, "ringmta_tls_handshakes_total", direction="inbound", version="unknown",
                                       result="failure") == 1, "the failed handshake counted")
    promtool_check(scrape(d))
    assert value(s, "ringmta_tls_handshakes_total", direction="inbound", version=version, result="success") == 1
    assert value(s, "ringmta_tls_resumed_total", direction="inbound") == 0  # a first, full handshake
    assert value(s, "ringmta_auth_failures_total") == 1


def test_taken_metrics_port_stops_the_start(daemon_factory):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        d = daemon_factory({"metrics": {"listen": f"127.0.0.1:{port}"}}, start=False)
        cp = subprocess.run([str(ringmta_bin()), "--config", str(d.config_path)], cwd=d.workdir,
                            capture_output=True, timeout=60)
    err = cp.stderr.decode(errors="replace")
    assert cp.returncode == 1, (cp.returncode, err)
    assert f"cannot listen on 127.0.0.1:{port} for metrics" in err, err


def listening_ports(pid):
    """TCP ports the process listens on (its socket inodes matched in /proc/net/tcp{,6})."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            f = line.split()
            if f[3] == "0A" and f[9] in inodes:  # 0A: LISTEN
                ports.add(int(f[1].rsplit(":", 1)[1], 16))
    return ports


def test_metrics_can_be_turned_off(daemon_factory):
    on = daemon_factory()
    metrics_port = int(on.settings["metrics"]["listen"].rsplit(":", 1)[1])
    assert listening_ports(on.proc.pid) == {on.port, metrics_port}
    off = daemon_factory({"metrics": {"listen": ""}})
    assert listening_ports(off.proc.pid) == {off.port}   # SMTP only
    assert "metrics: http" not in off.log()


def test_scrape_names_the_documented_families(daemon_factory):
    d = daemon_factory()
    names = families(scrape(d))
    for family in ["ringmta_connections_total", "ringmta_connections_active", "ringmta_messages_received_total",
                   "ringmta_recipients_delivered_total", "ringmta_recipients_deferred_total",
                   "ringmta_recipients_bounced_total", "ringmta_bounces_generated_total",
                   "ringmta_queue_messages", "ringmta_queue_oldest_age_seconds",
                   "ringmta_delivery_duration_seconds", "ringmta_smtp_transaction_seconds",
                   "ringmta_smtp_commit_seconds", "ringmta_queue_commit_batch_size", "ringmta_queue_fsync_seconds",
                   "ringmta_dns_lookup_seconds",
                   "ringmta_dns_failures_total", "ringmta_tls_handshakes_total", "ringmta_tls_resumed_total",
                   "ringmta_auth_failures_total",
                   "ringmta_destination_queue_messages", "ringmta_destination_last_error_info",
                   "ringmta_destinations_down"]:
        assert family in names, (family, sorted(names))
