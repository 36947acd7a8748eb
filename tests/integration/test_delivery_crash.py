"""tests/integration/test_delivery_crash.py — kill -9 in the middle of delivery loses nothing.

Delivery is at-least-once: ringmta is killed with SIGKILL while messages are
being handed to a real SMTP server (an aiosmtpd recorder that holds each
end-of-data reply 0.2 s, behind a cap of 2 connections, so the kill lands
mid-stream), then restarted on the same queue. Afterwards every recipient
must have arrived (duplicates allowed) or, if the remote refused it, be in a
bounce that reached the sender's MX; nothing may stay queued. Each arrival
must carry the body of its own message.
"""

import re

from delivery_checks import (
    SENDER, delivery_lines, message_with, notifications, queue_empty, reports, send, wait_for)
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    BOUNCE_IP, dns_zone, mx_port, relay, remote)

NO_METRICS = True  # see delivery_fixtures.relay: faster daemon exits

COUNT = 30          # messages; every 5th also has a recipient the remote refuses
KILL_AFTER = 6      # recorded deliveries before the kill
RECOVERY_TIMEOUT = 60.0


def test_kill9_during_delivery_then_everything_arrives_or_bounces(relay, remote):
    good = [f"k{i}@dest.test" for i in range(COUNT)]
    bad = [f"kbad{i}@dest.test" for i in range(0, COUNT, 5)]
    mx = remote("127.0.0.2", rules={r: "550" for r in bad}, data_delay=0.2)
    bounces = remote(BOUNCE_IP)
    d = relay(delivery={"max_connections_per_domain": 2})
    for i in range(COUNT):
        rcpts = [f"k{i}@dest.test"] + ([f"kbad{i}@dest.test"] if i % 5 == 0 else [])
        send(d, SENDER, rcpts, message_with(f"kill {i}", body=f"body of {i}\r\n".encode()))

    wait_for(lambda: len(mx.messages()) >= KILL_AFTER, 30, f"{KILL_AFTER} deliveries", d)
    d.kill9()
    before = len(mx.messages())
    assert before < COUNT, "all mail was delivered before the kill: the test proved nothing"

    d.start()

    def bounced():
        return {r for _, dsn in reports(bounces) for r in dsn.final_recipients()}

    def done():
        delivered = set(mx.delivered_rcpts())
        return (set(good) <= delivered and set(bad) <= bounced() and queue_empty(d))

    wait_for(done, RECOVERY_TIMEOUT, "every recipient delivered or bounced, empty queue", d)
    delivered = mx.delivered_rcpts()
    assert not set(delivered) & set(bad), "a refused recipient shows up as delivered"
    assert not bounced() & set(good), "a deliverable recipient was bounced"
    for m in mx.messages():
        for r in m["rcpt_tos"]:
            i = re.fullmatch(r"k(\d+)@dest\.test", r).group(1)
            assert f"Subject: kill {i}\r\n".encode() in m["data"], (r, m["data"][:300])
            assert f"body of {i}\r\n".encode() in m["data"], (r, m["data"][-200:])
    dupes = len(delivered) - len(set(delivered))
    print(f"{before} messages recorded before the kill; {dupes} duplicate deliveries after")


def test_sigterm_during_delivery_then_restart_delivers(relay, remote):
    # The remote holds its end-of-data reply 3 s; SIGTERM arrives meanwhile.
    # The daemon must exit 0 (within server.shutdown_timeout, 5 s) and the
    # message, whether or not its delivery finished, must reach the remote.
    mx = remote("127.0.0.2", data_delay=3.0)
    d = relay()
    send(d, SENDER, ["term@dest.test"], message_with("sigterm"))
    wait_for(lambda: [e for e in mx.events("rcpt")], 20, "the delivery to start", d)
    d.stop()  # asserts exit code 0
    d.start()
    wait_for(lambda: mx.delivered_rcpts(), 30, "the delivery", d)
    wait_for(lambda: queue_empty(d), 30, "an empty queue", d)
    assert set(mx.delivered_rcpts()) == {"term@dest.test"}


def test_kill9_with_bounce_pending_then_bounce_arrives_once(relay, remote):
    # The bounce cannot go out yet (the sender's MX is down); after kill -9 and
    # a restart it must still be there and go out once the MX is back. The
    # refused recipient is not tried again: its failure and its bounce were
    # written together.
    mx = remote("127.0.0.2", rules={"bad@dest.test": "550"})
    d = relay()
    qid = send(d, SENDER, ["bad@dest.test"], message_with("bounce survives"))
    [(_, bid)] = wait_for(lambda: notifications(d, qid), 20, "the bounce to be created", d)
    wait_for(lambda: delivery_lines(d, qid=bid, status="deferred"), 20,
             "the bounce's first (refused) delivery", d)
    d.kill9()
    bounces = remote(BOUNCE_IP)
    d.start()
    [(env, dsn)] = wait_for(lambda: reports(bounces), 30, "the bounce after the restart", d)
    assert env["rcpt_tos"] == [SENDER]
    assert dsn.final_recipients() == ["bad@dest.test"]
    wait_for(lambda: queue_empty(d), 30, "an empty queue", d)
    assert len(reports(bounces)) == 1
    assert [e["rcpt"] for e in mx.events("rcpt")] == ["bad@dest.test"], \
        "the refused recipient was tried again after the restart"
