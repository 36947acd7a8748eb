"""tests/integration/test_delivery_retry.py — temporary failures: retry, expiry, delay notices, DNS faults.

Short schedules make the 24-48 h behaviour observable in seconds:
queue.retry_schedule = ["1s"] (every retry after ~1 s, +-10% jitter),
queue.max_lifetime of a few seconds, queue.delay_warning of 2 s. Remote MX
hosts are real servers on loopback: an aiosmtpd recorder that answers 450 the
first time, and Postfix's smtp-sink refusing every RCPT with 450 (-r RCPT).
DNS faults come from the resolver tests' scripted fake DNS (SERVFAIL, silence).
"""

import time

from delivery_checks import (
    SENDER, delivery_lines, message_with, notifications, queue_empty, removed, reports, send,
    wait_for, wait_lines)
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    BOUNCE_IP, dns_zone, fake_dns, mx_port, relay, remote, sink)

NO_METRICS = True  # see delivery_fixtures.relay: faster daemon exits

TIMEOUT = 20.0
QUIET = 2.0   # > one retry interval: long enough for a wrong extra bounce to show


def test_4xx_then_success_on_retry(relay, remote):
    mx = remote("127.0.0.2", rules={"later@dest.test": "450x1"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["later@dest.test"], message_with("try again"))
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "delivery on the second try", d)
    assert mx.delivered_rcpts() == ["later@dest.test"]
    tries = mx.events("rcpt")
    assert [e["reply"][:3] for e in tries] == ["450", "250"], tries
    # retry_schedule ["1s"] with +-10% jitter: not before ~0.9 s.
    assert tries[1]["t"] - tries[0]["t"] >= 0.85, tries
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    lines = wait_lines(d, 2, qid=qid)
    assert [x["status"] for x in lines] == ["deferred", "sent"], [x["line"] for x in lines]
    assert lines[0]["dsn"] == "4.2.1" and "450" in (lines[0]["reply"] or ""), lines[0]["line"]
    assert notifications(d) == [] and bounces.connections() == 0


def test_mixed_replies_in_one_transaction(relay, remote):
    # One transaction, three answers: 250, 450 (once), 550. The retry carries
    # only the deferred recipient; the delivered one is never sent twice.
    mx = remote("127.0.0.2", rules={"later@dest.test": "450x1", "bad@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["ok@dest.test", "later@dest.test", "bad@dest.test"],
               message_with("mixed"))
    wait_for(lambda: len(mx.delivered_rcpts()) >= 2, TIMEOUT, "both deliverable recipients", d)
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    first, second = mx.messages()
    assert first["rcpt_tos"] == ["ok@dest.test"], first["rcpt_tos"]
    assert second["rcpt_tos"] == ["later@dest.test"], second["rcpt_tos"]
    [(_, dsn)] = wait_for(lambda: reports(bounces), TIMEOUT, "the bounce for bad@", d)
    assert dsn.final_recipients() == ["bad@dest.test"]
    statuses = {r: [x["status"] for x in wait_lines(d, 1, qid=qid, rcpt=r)]
                for r in ("ok@dest.test", "bad@dest.test")}
    statuses["later@dest.test"] = [x["status"] for x in wait_lines(d, 2, qid=qid,
                                                                   rcpt="later@dest.test")]
    assert statuses == {"ok@dest.test": ["sent"], "bad@dest.test": ["bounced"],
                        "later@dest.test": ["deferred", "sent"]}, statuses


def test_all_hosts_down_defers_then_delivers_when_one_is_back(relay, remote):
    # Both MX hosts of pref.test refuse connections: a temporary failure for
    # the recipient (never a bounce); once mx2 listens, the first retry after
    # the destination's down time (2 s here: retries within it are deferred
    # without a connection) delivers.
    bounces = remote(BOUNCE_IP)
    d = relay(delivery={"destination_down_time": "2s"})
    qid = send(d, SENDER, ["down@pref.test"], message_with("hosts down"))
    lines = wait_lines(d, 2, qid=qid, status="deferred")
    assert all(x["dsn"].startswith("4.") for x in lines), [x["line"] for x in lines]
    assert qid in d.queue_ids()
    mx2 = remote("127.0.0.3")
    wait_for(lambda: mx2.delivered_rcpts(), TIMEOUT, "delivery once mx2 is up", d)
    assert mx2.delivered_rcpts() == ["down@pref.test"]
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    [sent] = wait_lines(d, 1, qid=qid, status="sent")
    assert sent["relay"] == f"mx2.pref.test[127.0.0.3]:{mx2.port}", sent["line"]
    assert delivery_lines(d, qid=qid, status="bounced") == []
    assert notifications(d) == [] and bounces.connections() == 0


def test_connection_lost_at_end_of_data_is_retried(relay, remote, sink):
    # smtp-sink -q . hangs up after the message instead of answering it: the
    # outcome is unknown, so the recipient is deferred (never bounced) and
    # delivered later (at-least-once) once a well-behaved server is there.
    dropper = sink("127.0.0.2", extra_args=["-q", "."])
    # A retry may fall between the two servers (connection refused): then
    # dest.test is down for 1 s only, not the default 60 s.
    d = relay(delivery={"destination_down_time": "1s"})
    qid = send(d, SENDER, ["hangup@dest.test"], message_with("hang up"))
    lines = wait_lines(d, 2, qid=qid, status="deferred")
    assert all(x["dsn"].startswith("4.") for x in lines), [x["line"] for x in lines]
    dropper.stop()
    mx = remote("127.0.0.2")
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "delivery to the replacement server", d)
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    assert delivery_lines(d, qid=qid, status="bounced") == [] and notifications(d) == []


def test_expiry_sends_exactly_one_bounce(relay, remote, sink):
    sink("127.0.0.2", extra_args=["-r", "RCPT"])   # every RCPT: 450 4.3.0
    bounces = remote(BOUNCE_IP)
    d = relay(queue={"max_lifetime": "4s"})
    qid = send(d, SENDER, ["late@dest.test"], message_with("expires"))
    [(env, dsn)] = wait_for(lambda: reports(bounces), TIMEOUT, "the expiry bounce", d)
    assert env["rcpt_tos"] == [SENDER]
    block = dsn.recipient("late@dest.test")
    assert block["Action"].strip().lower() == "failed", dict(block.items())
    assert "450" in (block["Diagnostic-Code"] or ""), dict(block.items())
    wait_for(lambda: removed(d, qid), TIMEOUT, f"'{qid}: removed'", d)
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    time.sleep(QUIET)
    assert len(reports(bounces)) == 1, "more than one bounce for one expired recipient"
    assert len(notifications(d, qid)) == 1, notifications(d, qid)
    deferred = delivery_lines(d, qid=qid, status="deferred")
    assert len(deferred) >= 2, "expected several tries within the lifetime"


def test_lifetime_counts_from_arrival_across_restart(relay, remote, sink):
    # The daemon is down while the message's lifetime runs out: after the
    # restart it must bounce it (once), not grant it a fresh lifetime.
    mx = remote("127.0.0.2", rules={"old@dest.test": "450"})
    bounces = remote(BOUNCE_IP)
    # 6 s: the first attempt and a graceful stop must fit in it even on a
    # loaded machine (the stop alone can take a second or two).
    d = relay(queue={"max_lifetime": "6s"})
    send(d, SENDER, ["old@dest.test"], message_with("outlives restart"))
    accepted = time.monotonic()
    wait_for(lambda: mx.events("rcpt"), TIMEOUT, "the first (refused) attempt", d)
    d.stop()
    assert time.monotonic() - accepted < 6.0, "too slow: the lifetime ended before the stop"
    assert reports(bounces) == [], "bounced before the lifetime was over"
    tries_before = len(mx.events("rcpt"))
    time.sleep(max(0.0, accepted + 7.0 - time.monotonic()))
    d.start()
    [(_, dsn)] = wait_for(lambda: reports(bounces), TIMEOUT, "the expiry bounce after restart", d)
    assert dsn.recipient("old@dest.test")["Action"].strip().lower() == "failed"
    # A fresh 6 s lifetime would mean several more tries at 1 s intervals first.
    tries_after = len(mx.events("rcpt")) - tries_before
    assert tries_after <= 1, f"{tries_after} tries after the restart of an expired message"
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    time.sleep(QUIET)
    assert len(reports(bounces)) == 1


def test_delay_warning_once_then_bounce(relay, remote, sink):
    # Three messages, same fate (every RCPT gets 450 until expiry), different
    # NOTIFY: default (failure and delay notices), FAILURE only, DELAY only.
    sink("127.0.0.2", extra_args=["-r", "RCPT"])
    bounces = remote(BOUNCE_IP)
    d = relay(queue={"delay_warning": "2s", "max_lifetime": "6s"})
    q_default = send(d, SENDER, ["slow@dest.test"], message_with("delayed"))
    q_failure = send(d, SENDER, ["slow-f@dest.test"], message_with("delayed f"),
                     rcpt_options={"slow-f@dest.test": ["NOTIFY=FAILURE"]})
    q_delay = send(d, SENDER, ["slow-d@dest.test"], message_with("delayed d"),
                   rcpt_options={"slow-d@dest.test": ["NOTIFY=DELAY"]})
    for qid in (q_default, q_failure, q_delay):
        wait_for(lambda: removed(d, qid), 25, f"'{qid}: removed'", d)
    wait_for(lambda: len(reports(bounces)) >= 4, TIMEOUT, "2 warnings and 2 bounces", d)
    time.sleep(QUIET)

    def actions(rcpt):
        return [dsn.recipient(rcpt)["Action"].strip().lower()
                for _, dsn in reports(bounces) if dsn.final_recipients() == [rcpt]]

    assert actions("slow@dest.test") == ["delayed", "failed"]
    assert actions("slow-f@dest.test") == ["failed"], "NOTIFY=FAILURE got a delay notice"
    assert actions("slow-d@dest.test") == ["delayed"], "NOTIFY=DELAY got a failure bounce"
    assert len(reports(bounces)) == 4
    warning = [dsn for _, dsn in reports(bounces) if dsn.final_recipients() == ["slow@dest.test"]][0]
    status = warning.recipient("slow@dest.test")["Status"].strip()
    assert status.startswith("4."), status
    assert len(notifications(d, q_default, kind="delay")) == 1
    assert len(notifications(d, q_default)) == 1
    assert notifications(d, q_failure, kind="delay") == []
    assert notifications(d, q_delay) == []


def test_dns_servfail_and_timeout_defer_never_bounce(relay, fake_dns):
    d = relay(dns_server=fake_dns.server(), dns={"timeout": "1s"})
    q_fail = send(d, SENDER, ["a@servfail.test"], message_with("servfail"))
    q_silent = send(d, SENDER, ["b@silent.test"], message_with("silent"))
    # SERVFAIL answers at once: at least two attempts show it is retried.
    fail_lines = wait_lines(d, 2, timeout=TIMEOUT, qid=q_fail)
    silent_lines = wait_lines(d, 1, timeout=30, qid=q_silent)
    for line in fail_lines + silent_lines:
        assert line["status"] == "deferred", line["line"]
        assert line["relay"] == "none", line["line"]
        assert line["dsn"].startswith("4."), line["line"]
    assert fake_dns.queries("silent.test") >= 1, "the daemon never asked the DNS server"
    time.sleep(QUIET)
    assert delivery_lines(d, status="bounced") == []
    assert notifications(d) == []
    assert set(d.queue_ids()) == {q_fail, q_silent}
