"""tests/integration/test_delivery_routing.py — where ringmta delivers, and over how many connections.

The real daemon relays for its trusted client (127.0.0.1) to remote MX hosts
that are real SMTP servers on 127.0.0.2, .3, ... (python3-aiosmtpd recorders,
Postfix's smtp-sink), found through a real DNS server (dnsmasq). Checked here:
MX preference order and fallback, the equal-preference shuffle, the implicit
MX, relayhost (by address and by MX lookup), [delivery.routes], connection
reuse, the per-connection message bound and the per-domain connection cap.
"""

import smtplib
import threading

from conftest import dead_port, make_message
from delivery_checks import (
    SENDER, delivery_lines, message_with, queue_empty, send, wait_for, wait_lines)
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    dns_zone, mx_port, relay, relay_settings, remote, sink)

NO_METRICS = True  # see delivery_fixtures.relay: faster daemon exits

DELIVERY_TIMEOUT = 20.0  # seconds for mail that should go out at once


def wait_delivered(daemon, recorder, count, what="deliveries"):
    wait_for(lambda: len(recorder.delivered_rcpts()) >= count, DELIVERY_TIMEOUT,
             f"{count} {what} at {recorder.ip}", daemon)


def test_lowest_preference_first(relay, remote):
    mx1 = remote("127.0.0.2")
    mx2 = remote("127.0.0.3")
    d = relay()
    ids = [send(d, SENDER, [f"p{i}@pref.test"], n=i) for i in range(3)]
    wait_delivered(d, mx1, 3)
    wait_for(lambda: queue_empty(d), DELIVERY_TIMEOUT, "an empty queue", d)
    assert sorted(mx1.delivered_rcpts()) == ["p0@pref.test", "p1@pref.test", "p2@pref.test"]
    assert mx2.messages() == [] and mx2.connections() == 0, "preference 20 used while 10 was up"
    for i, qid in enumerate(ids):
        [line] = wait_lines(d, 1, qid=qid, rcpt=f"p{i}@pref.test")
        assert line["status"] == "sent", line["line"]
        assert line["relay"] == f"mx1.pref.test[127.0.0.2]:{mx1.port}", line["line"]
        assert line["dsn"].startswith("2."), line["line"]


def test_fallback_when_lowest_preference_refuses(relay, remote):
    # Nothing listens on 127.0.0.2: its connect is refused, mx2 must take the mail.
    mx2 = remote("127.0.0.3")
    d = relay()
    qid = send(d, SENDER, ["fallback@pref.test"], message_with("fallback"))
    wait_delivered(d, mx2, 1)
    [msg] = mx2.messages()
    assert msg["rcpt_tos"] == ["fallback@pref.test"]
    assert msg["mail_from"] == SENDER
    assert b"Subject: fallback" in msg["data"]
    wait_lines(d, 1, qid=qid, status="sent")
    sent = delivery_lines(d, qid=qid)
    assert [x["status"] for x in sent] == ["sent"], [x["line"] for x in sent]
    assert sent[0]["relay"] == f"mx2.pref.test[127.0.0.3]:{mx2.port}", sent[0]["line"]


def test_equal_preferences_spread(relay, remote):
    a = remote("127.0.0.2")
    b = remote("127.0.0.3")
    # One message per connection, so every message starts a fresh choice of host.
    d = relay(delivery={"max_messages_per_connection": 1})
    count = 16
    for i in range(count):
        send(d, SENDER, [f"eq{i}@eq.test"], n=i)
    wait_for(lambda: len(a.delivered_rcpts()) + len(b.delivered_rcpts()) >= count,
             DELIVERY_TIMEOUT, f"{count} deliveries to eq.test", d)
    got_a, got_b = len(a.delivered_rcpts()), len(b.delivered_rcpts())
    # Each host gets nothing with probability 2**-15 if the shuffle is fair.
    assert got_a > 0 and got_b > 0, f"equal-preference MX not spread: a={got_a} b={got_b}"
    assert sorted(a.delivered_rcpts() + b.delivered_rcpts()) == sorted(
        f"eq{i}@eq.test" for i in range(count))


def test_implicit_mx(relay, remote):
    host = remote("127.0.0.4")
    d = relay()
    qid = send(d, SENDER, ["user@implicit.test"], message_with("implicit"))
    wait_delivered(d, host, 1)
    assert host.delivered_rcpts() == ["user@implicit.test"]
    wait_lines(d, 1, qid=qid, status="sent")
    [line] = delivery_lines(d, qid=qid)
    assert line["relay"].endswith(f"[127.0.0.4]:{host.port}"), line["line"]


def test_relayhost_by_address_skips_dns(daemon_factory, sink, mx_port):
    # The bracketed relayhost needs no DNS at all: point dns.servers at a
    # port where nothing answers, so any lookup would defer the mail.
    smarthost = sink("127.0.0.7")
    d = daemon_factory(relay_settings(
        f"127.0.0.1:{dead_port()}", mx_port,
        delivery={"relayhost": f"[127.0.0.7]:{mx_port}"}))
    rcpts = ["one@nosuch.test", "two@dest.test", "three@example.invalid"]
    qid = send(d, SENDER, rcpts, message_with("via smarthost"),
               mail_options=["RET=HDRS", "ENVID=env42"],
               rcpt_options={"one@nosuch.test": ["NOTIFY=FAILURE,DELAY",
                                                 "ORCPT=rfc822;one@nosuch.test"]})
    wait_for(lambda: sum(len(m["rcpt_args"]) for m in smarthost.messages()) >= 3,
             DELIVERY_TIMEOUT, "3 recipients at the smart host", d)
    msgs = smarthost.messages()
    got = sorted(a.split()[0].strip("<>") for m in msgs for a in m["rcpt_args"])
    assert got == sorted(rcpts)
    assert all(b"Subject: via smarthost" in m["content"] for m in msgs)
    # smtp-sink offers DSN, so the DSN parameters must be passed on.
    one = [a for m in msgs for a in m["rcpt_args"] if a.startswith("<one@")][0]
    assert "NOTIFY=FAILURE,DELAY" in one.upper(), one
    assert "ORCPT=RFC822;ONE@NOSUCH.TEST" in one.upper(), one
    assert any("ENVID=env42" in (m["mail_args"] or "") for m in msgs), [m["mail_args"] for m in msgs]
    wait_for(lambda: queue_empty(d), DELIVERY_TIMEOUT, "an empty queue", d)
    for r in rcpts:
        [line] = wait_lines(d, 1, qid=qid, rcpt=r)
        assert line["status"] == "sent", line["line"]
        assert f"[127.0.0.7]:{mx_port}" in line["relay"], line["line"]


def test_relayhost_by_name_uses_its_mx(relay, remote, mx_port):
    smarthost = remote("127.0.0.7")
    d = relay(delivery={"relayhost": f"relay.test:{mx_port}"})
    send(d, SENDER, ["x@pref.test", "y@implicit.test"], message_with("named smarthost"))
    wait_delivered(d, smarthost, 2)
    assert sorted(smarthost.delivered_rcpts()) == ["x@pref.test", "y@implicit.test"]
    wait_for(lambda: queue_empty(d), DELIVERY_TIMEOUT, "an empty queue", d)
    lines = wait_lines(d, 2, status="sent")
    assert all(x["relay"] == f"mx.relay.test[127.0.0.7]:{mx_port}" for x in lines), \
        [x["line"] for x in lines]


def test_route_override_beats_mx(relay, remote, mx_port):
    routed = remote("127.0.0.5")
    normal = remote("127.0.0.2")
    d = relay(delivery={"routes": {"routed.test": f"[127.0.0.5]:{mx_port}"}})
    send(d, SENDER, ["r@routed.test"], message_with("routed"))
    send(d, SENDER, ["n@dest.test"], message_with("normal"))
    wait_delivered(d, routed, 1)
    wait_delivered(d, normal, 1)
    assert routed.delivered_rcpts() == ["r@routed.test"]
    assert normal.delivered_rcpts() == ["n@dest.test"]


def test_connection_reuse(relay, remote):
    mx = remote("127.0.0.2")
    d = relay(delivery={"connection_idle_timeout": "5s"})
    count = 10
    for i in range(count):
        send(d, SENDER, [f"reuse{i}@dest.test"], n=i)
        # One message at a time: the next one must find the connection idle
        # (sent back to back on a busy machine, each could overlap the last
        # delivery and rightly get a connection of its own).
        wait_for(lambda: d.log().count("status=sent") >= i + 1, DELIVERY_TIMEOUT,
                 f"delivery {i + 1} logged", d)
    wait_delivered(d, mx, count)
    conns = mx.connections()
    assert conns < count, f"{conns} connections for {count} messages: no reuse"
    per_conn = {}
    for m in mx.messages():
        per_conn[m["conn"]] = per_conn.get(m["conn"], 0) + 1
    assert max(per_conn.values()) >= 2, per_conn


def test_max_messages_per_connection(relay, remote):
    mx = remote("127.0.0.2")
    d = relay(delivery={"max_messages_per_connection": 3, "connection_idle_timeout": "5s"})
    count = 9
    for i in range(count):
        send(d, SENDER, [f"cap{i}@dest.test"], n=i)
    wait_delivered(d, mx, count)
    per_conn = {}
    for m in mx.messages():
        per_conn[m["conn"]] = per_conn.get(m["conn"], 0) + 1
    assert max(per_conn.values()) <= 3, f"more than 3 messages on one connection: {per_conn}"
    assert mx.connections() >= 3, per_conn


def test_concurrency_cap(relay, remote):
    # Each end-of-data reply is held 0.3 s, so parallel deliveries overlap and
    # the daemon would open many connections if nothing capped it.
    mx = remote("127.0.0.2", data_delay=0.3)
    # Connections are not rotated (default messages per connection): a closing
    # connection racing a new one must not be mistaken for a third one.
    d = relay(delivery={"max_connections_per_domain": 2})
    count = 16
    errors = []

    def client(k):
        try:
            with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
                s.ehlo("client.test")
                for i in range(count // 4):
                    n = k * 100 + i
                    s.sendmail(SENDER, [f"cc{n}@dest.test"], make_message(n))
        except (OSError, smtplib.SMTPException) as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    wait_for(lambda: len(mx.delivered_rcpts()) >= count, 40, f"{count} deliveries", d)
    assert mx.max_active() <= 2, f"the MX saw {mx.max_active()} connections at once (cap 2)"
    print(f"connections: {mx.connections()}, at most {mx.max_active()} at once")


def test_fallback_on_4xx_greeting(relay, remote, sink):
    # mx1 greets with 4xx (smtp-sink -r CONNECT): try the next MX host.
    sink("127.0.0.2", extra_args=["-r", "CONNECT"])
    mx2 = remote("127.0.0.3")
    d = relay()
    qid = send(d, SENDER, ["greet@pref.test"], message_with("busy greeting"))
    wait_delivered(d, mx2, 1)
    [line] = wait_lines(d, 1, qid=qid)
    assert line["status"] == "sent", line["line"]
    assert line["relay"] == f"mx2.pref.test[127.0.0.3]:{mx2.port}", line["line"]


def test_relayed_bytes_are_exact(relay, remote):
    # Dot lines (transparency both ways), 8-bit text, a 998-octet line: the
    # remote must get exactly what the client sent, after our Received: header.
    mx = remote("127.0.0.2")
    d = relay()
    # ~60 KB in all, so the body goes out in several writes.
    filler = b"".join(b"%05d " % i + b"." * (i % 70) + b"\r\n" for i in range(1200))
    body = (b".\r\n..two dots\r\n.leading dot\r\n" + "caf\u00e9 na\u00efve\r\n".encode()
            + b"x" * 998 + b"\r\n" + filler + b".\r\nlast line\r\n")
    message = message_with("exact bytes", body=body)
    qid = send(d, SENDER, ["exact@dest.test"], message)
    wait_delivered(d, mx, 1)
    [got] = mx.messages()
    assert got["data"].startswith(b"Received: "), got["data"][:100]
    assert got["data"].endswith(message), "relayed bytes differ from what was accepted"
    assert f"id {qid}".encode() in got["data"].split(b"\r\n\r\n", 1)[0], "Received: lacks the queue ID"


def test_recipients_of_one_domain_share_a_transaction(relay, remote):
    mx = remote("127.0.0.2")
    d = relay(delivery={"max_recipients_per_transaction": 2})
    rcpts = [f"t{i}@dest.test" for i in range(5)]
    send(d, SENDER, rcpts, message_with("one transaction"))
    wait_delivered(d, mx, 5)
    sizes = sorted(len(m["rcpt_tos"]) for m in mx.messages())
    # 5 recipients, at most 2 per transaction: 2 + 2 + 1.
    assert sizes == [1, 2, 2], sizes
    assert sorted(mx.delivered_rcpts()) == rcpts


def test_address_literal_and_domain_case(relay, remote):
    # user@[127.0.0.5] goes to that address without DNS; DEST.Test is
    # dest.test for routing, while the address goes out as the client wrote it.
    literal = remote("127.0.0.5")
    mx = remote("127.0.0.2")
    d = relay()
    send(d, SENDER, ["user@[127.0.0.5]"], message_with("literal"))
    send(d, SENDER, ["Mixed.Case@DEST.Test"], message_with("case"))
    wait_delivered(d, literal, 1)
    wait_delivered(d, mx, 1)
    assert literal.delivered_rcpts() == ["user@[127.0.0.5]"]
    assert mx.delivered_rcpts() == ["Mixed.Case@DEST.Test"]
