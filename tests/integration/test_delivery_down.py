"""tests/integration/test_delivery_down.py — down destinations (delivery.destination_down_time).

Postfix's qmgr remembers a destination whose hosts all failed at the
connection level and defers its mail at once ("delivery temporarily
suspended: connect to ...") instead of connecting again for every message;
`postqueue -f` flushes such dead destinations. ringmta does the same per
shard: these tests run the real daemon with ONE shard (so both messages meet
the same memory) and the default down time (60 s), a relayhost given by
address on a loopback port where nothing listens at first, and a retry
schedule of 1 h, so every attempt after the first comes from the admin
command under test. The remote is a real SMTP server (python3-aiosmtpd
recorder) that records every connection it accepts: started between the two
messages, it proves the second one was deferred without a connection.
"""

import time

from delivery_checks import SENDER, delivery_lines, message_with, queue_empty, send, wait_for, wait_lines
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    Recorder, dns_zone, mx_port, relay_settings)
from metrics_checks import parse, scrape, value

TIMEOUT = 20.0
QUIET = 2.0
SUSPENDED = "delivery temporarily suspended: "


def down_relay(daemon_factory, dns_zone, mx_port):
    settings = relay_settings(dns_zone.server(), mx_port,
                              delivery={"relayhost": f"[127.0.0.2]:{mx_port}"},
                              queue={"retry_schedule": ["1h"]})
    settings["server"] = {"threads": 1}
    return daemon_factory(settings)


def first_two_deferred(d, mx_port, tmp_path):
    """Message A is refused by the dead relayhost; then a recorder starts on
    that port and message B is deferred as suspended without reaching it.
    Returns (A, B, recorder)."""
    refused = f"connect to 127.0.0.2[127.0.0.2]:{mx_port}: Connection refused"
    a = send(d, SENDER, ["a@dest.test"], message_with("first"))
    [line_a] = wait_lines(d, 1, qid=a, status="deferred")
    assert line_a["reply"] == refused, line_a["line"]
    assert line_a["dsn"] == "4.4.1", line_a["line"]

    mx = Recorder(tmp_path, "127.0.0.2", mx_port)  # the relayhost is back, unknown to ringmta
    b = send(d, SENDER, ["b@dest.test"], message_with("second"))
    [line_b] = wait_lines(d, 1, qid=b, status="deferred")
    assert line_b["reply"] == SUSPENDED + refused, line_b["line"]
    assert line_b["dsn"] == "4.4.1", line_b["line"]
    assert line_b["relay"] == f"127.0.0.2[127.0.0.2]:{mx_port}", line_b["line"]
    time.sleep(QUIET)
    assert mx.connections() == 0, "a suspended destination was connected to"
    assert mx.delivered_rcpts() == []
    assert "delivery: relayhost is down" in d.log()
    return a, b, mx


def test_down_relayhost_suspends_then_flush_delivers_both(daemon_factory, dns_zone, mx_port, tmp_path):
    d = down_relay(daemon_factory, dns_zone, mx_port)
    a, b, mx = first_two_deferred(d, mx_port, tmp_path)
    try:
        # The operator can see it: named by `destination list`, counted in /metrics.
        listed = d.ctl("destination", "list").stdout.decode()
        refused = f"connect to 127.0.0.2[127.0.0.2]:{mx_port}: Connection refused"
        assert listed.startswith("relayhost down for "), listed
        left = int(listed.split(" down for ")[1].split("s more: ")[0])
        assert 0 < left <= 60, listed
        assert listed.rstrip("\n").endswith("s more: " + refused), listed
        assert value(parse(scrape(d)), "ringmta_destinations_down") == 1
        summary = d.ctl("queue", "summary").stdout.decode()
        assert "down destinations: relayhost (" in summary, summary
        # postqueue -f: the flush forgets the down relayhost, so both are tried.
        out = d.ctl("queue", "flush", "--all").stdout.decode()
        assert "2 matched, 2 changed" in out, out
        assert "1 down destination(s) forgotten" in out, out
        wait_for(lambda: len(mx.delivered_rcpts()) >= 2, TIMEOUT, "both messages at the relayhost", d)
        assert sorted(mx.delivered_rcpts()) == ["a@dest.test", "b@dest.test"]
        wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
        for qid in (a, b):
            [sent] = wait_lines(d, 1, qid=qid, status="sent")
            assert sent["relay"] == f"127.0.0.2[127.0.0.2]:{mx_port}", sent["line"]
        assert "1 down destination(s) forgotten by the administrator" in d.log()
        assert d.ctl("destination", "list").stdout.decode() == ""
        after = parse(scrape(d))
        assert ("ringmta_destinations_down", frozenset()) in after  # present, and now 0
        assert value(after, "ringmta_destinations_down") == 0
    finally:
        mx.stop()


def test_destination_resume_also_forgets_it(daemon_factory, dns_zone, mx_port, tmp_path):
    # `destination resume DOMAIN` flushes that domain's mail, and with it the
    # down destination it goes through (here the relayhost).
    d = down_relay(daemon_factory, dns_zone, mx_port)
    _, _, mx = first_two_deferred(d, mx_port, tmp_path)
    try:
        out = d.ctl("destination", "resume", "dest.test").stdout.decode()
        assert "destination dest.test resumed (2 message(s) flushed)" in out, out
        wait_for(lambda: len(mx.delivered_rcpts()) >= 2, TIMEOUT, "both messages at the relayhost", d)
        wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
        assert delivery_lines(d, status="bounced") == []
    finally:
        mx.stop()


def committed_batches(d):
    """Queue write batches committed so far (the sum of the group-commit histogram)."""
    return value(parse(scrape(d)), "ringmta_queue_commit_batch_size_sum")


def test_fresh_mail_for_a_down_destination_is_written_once(daemon_factory, dns_zone, mx_port, tmp_path):
    # While the relayhost is down, a new message is written already deferred
    # (the acceptance is its only queue write; no delivery job runs), with
    # the same log line, reply and retry time as an attempt would give it.
    d = down_relay(daemon_factory, dns_zone, mx_port)
    _, _, mx = first_two_deferred(d, mx_port, tmp_path)
    try:
        before = committed_batches(d)  # first_two_deferred waited QUIET: A's and B's writes are in
        c = send(d, SENDER, ["c@dest.test"], message_with("third"))
        [line] = wait_lines(d, 1, qid=c, status="deferred")
        refused = f"connect to 127.0.0.2[127.0.0.2]:{mx_port}: Connection refused"
        assert line["reply"] == SUSPENDED + refused, line["line"]
        assert line["dsn"] == "4.4.1" and line["relay"] == f"127.0.0.2[127.0.0.2]:{mx_port}", line["line"]
        log = d.log()
        assert log.index(f"{c}: accepted") < log.index(line["line"]), "deferral logged before the acceptance"
        time.sleep(QUIET)
        assert committed_batches(d) - before == 1, "more than one queue write for a message to a down destination"
        shown = d.ctl("queue", "show", c).stdout.decode()
        assert "deferred" in shown and SUSPENDED in shown, shown
        assert mx.connections() == 0
        # The flush tries it like any deferred message: delivered.
        d.ctl("queue", "flush", "--all")
        wait_for(lambda: "c@dest.test" in mx.delivered_rcpts(), TIMEOUT, "C at the relayhost", d)
    finally:
        mx.stop()
