"""tests/integration/test_delivery_bounces.py — permanent failures and the DSNs they cause.

The daemon delivers to real SMTP servers on loopback (python3-aiosmtpd
recorders that refuse chosen recipients with 550) found through dnsmasq. Its
bounces go, with the null sender, to the sender domain's MX (sender.test ->
127.0.0.9), where a recorder keeps them; Python's email package parses them
as RFC 3464 reports. Checked: null MX and NXDOMAIN bounce at once, a 5xx to
RCPT bounces that recipient only with the right DSN fields (and ORCPT, RET),
recipients of one message share one bounce, NOTIFY=NEVER gets none, mail from
<> is never bounced, a bounce is never bounced, NOTIFY=SUCCESS gets a
"relayed" notice when the next hop has no DSN.
"""

import email.utils
import time

from delivery_checks import (
    SENDER, message_with, notifications, queue_empty, removed, reports, send, wait_for,
    wait_lines)
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    BOUNCE_IP, dns_zone, mx_port, relay, remote)

NO_METRICS = True  # see delivery_fixtures.relay: faster daemon exits

TIMEOUT = 20.0   # bounded wait for anything that should happen at once
QUIET = 1.5      # extra wait before asserting that something did NOT happen


def wait_reports(daemon, recorder, count):
    return wait_for(lambda: (lambda r: r if len(r) >= count else None)(reports(recorder)),
                    TIMEOUT, f"{count} report(s) at {recorder.ip}", daemon)


def wait_finished(daemon, qid):
    """The message is done: its 'removed' line is logged and the queue is empty."""
    wait_for(lambda: removed(daemon, qid), TIMEOUT, f"'{qid}: removed' in the log", daemon)
    wait_for(lambda: queue_empty(daemon), TIMEOUT, "an empty queue", daemon)


def check_date(value, field):
    assert value, f"{field} missing"
    assert email.utils.parsedate_to_datetime(value) is not None, (field, value)


def check_report_basics(dsn, daemon):
    reporting = dsn.per_message["Reporting-MTA"]
    assert reporting and reporting.replace(" ", "").lower().startswith("dns;"), reporting
    assert daemon.settings["server"]["hostname"] in reporting, reporting
    check_date(dsn.per_message["Arrival-Date"], "Arrival-Date")


def test_null_mx_bounces_at_once(relay, remote):
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["nobody@nullmx.test"], message_with("null mx"))
    [(env, dsn)] = wait_reports(d, bounces, 1)
    assert env["rcpt_tos"] == [SENDER]
    check_report_basics(dsn, d)
    block = dsn.recipient("nobody@nullmx.test")
    assert block["Action"].strip().lower() == "failed"
    assert block["Status"].strip() == "5.1.10", block["Status"]
    wait_finished(d, qid)
    lines = wait_lines(d, 1, qid=qid)
    assert [x["status"] for x in lines] == ["bounced"], [x["line"] for x in lines]
    assert lines[0]["dsn"] == "5.1.10" and lines[0]["relay"] == "none", lines[0]["line"]
    assert len(notifications(d, qid)) == 1


def test_nxdomain_bounces_5_1_2(relay, remote):
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["someone@nosuch.test"], message_with("nxdomain"))
    [(_, dsn)] = wait_reports(d, bounces, 1)
    block = dsn.recipient("someone@nosuch.test")
    assert block["Status"].strip() == "5.1.2", block["Status"]
    assert block["Action"].strip().lower() == "failed"
    wait_finished(d, qid)
    [line] = wait_lines(d, 1, qid=qid)
    assert line["status"] == "bounced" and line["dsn"] == "5.1.2", line["line"]


def test_rcpt_5xx_bounce_report(relay, remote):
    mx = remote("127.0.0.2", rules={"bad1@dest.test": "550", "bad2@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    marker = b"UNIQUE-BODY-MARKER-5xx\r\n"
    qid = send(d, SENDER, ["good@dest.test", "bad1@dest.test", "bad2@dest.test"],
               message_with("five hundred", body=marker),
               mail_options=["RET=FULL", "ENVID=env-5xx"],
               rcpt_options={"bad1@dest.test": ["ORCPT=rfc822;original-bad1@dest.test"]})
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "the good recipient's delivery", d)
    assert mx.delivered_rcpts() == ["good@dest.test"]

    [(env, dsn)] = wait_reports(d, bounces, 1)
    assert env["mail_from"] == "" and env["rcpt_tos"] == [SENDER]
    check_report_basics(dsn, d)
    # Both refused recipients in one report, the delivered one not at all.
    assert dsn.final_recipients() == ["bad1@dest.test", "bad2@dest.test"]
    for rcpt in ("bad1@dest.test", "bad2@dest.test"):
        block = dsn.recipient(rcpt)
        assert block["Action"].strip().lower() == "failed", dict(block.items())
        assert block["Status"].strip() == "5.1.1", dict(block.items())
        remote_mta = block["Remote-MTA"] or ""
        assert "mx.dest.test" in remote_mta.lower(), dict(block.items())
        diag = block["Diagnostic-Code"] or ""
        assert diag.replace(" ", "").lower().startswith("smtp;"), diag
        assert "550" in diag and "5.1.1" in diag and rcpt in diag, diag
        check_date(block["Last-Attempt-Date"], "Last-Attempt-Date")
    orcpt = dsn.recipient("bad1@dest.test")["Original-Recipient"]
    assert orcpt and orcpt.replace(" ", "").lower() == "rfc822;original-bad1@dest.test", orcpt
    assert dsn.recipient("bad2@dest.test")["Original-Recipient"] is None
    # RET=FULL: the whole message comes back.
    assert dsn.original_type == "message/rfc822", dsn.original_type
    assert b"Subject: five hundred" in dsn.original and b"UNIQUE-BODY-MARKER-5xx" in dsn.original

    wait_finished(d, qid)
    for rcpt in ("bad1@dest.test", "bad2@dest.test"):
        [line] = wait_lines(d, 1, qid=qid, rcpt=rcpt)
        assert line["status"] == "bounced" and line["dsn"] == "5.1.1", line["line"]
        assert line["relay"] == f"mx.dest.test[127.0.0.2]:{mx.port}", line["line"]
        assert "550" in (line["reply"] or ""), line["line"]
    [line] = wait_lines(d, 1, qid=qid, rcpt="good@dest.test")
    assert line["status"] == "sent", line["line"]
    [(_, bid)] = notifications(d, qid)
    [bline] = wait_lines(d, 1, qid=bid, rcpt=SENDER)
    assert bline["status"] == "sent", bline["line"]
    assert bline["relay"] == f"mx.sender.test[{BOUNCE_IP}]:{mx.port}", bline["line"]


def test_bounce_returns_headers_only_by_default(relay, remote):
    remote("127.0.0.2", rules={"bad@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    send(d, SENDER, ["bad@dest.test"],
         message_with("headers only", body=b"UNIQUE-BODY-MARKER-HDRS\r\n"))
    [(_, dsn)] = wait_reports(d, bounces, 1)
    assert dsn.original_type in ("text/rfc822-headers", "message/rfc822"), dsn.original_type
    assert b"Subject: headers only" in dsn.original
    assert b"UNIQUE-BODY-MARKER-HDRS" not in dsn.raw, "body returned without RET=FULL"


def test_notify_never_gets_no_bounce(relay, remote):
    remote("127.0.0.2", rules={"bad@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["bad@dest.test"], message_with("notify never"),
               rcpt_options={"bad@dest.test": ["NOTIFY=NEVER"]})
    [line] = wait_lines(d, 1, qid=qid)
    assert line["status"] == "bounced", line["line"]
    wait_finished(d, qid)
    time.sleep(QUIET)
    assert notifications(d, qid) == [], "a bounce was made for NOTIFY=NEVER"
    assert bounces.messages() == [] and bounces.connections() == 0


def test_notify_never_recipient_left_out_of_the_bounce(relay, remote):
    remote("127.0.0.2", rules={"quiet@dest.test": "550", "loud@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["quiet@dest.test", "loud@dest.test"], message_with("mixed notify"),
               rcpt_options={"quiet@dest.test": ["NOTIFY=NEVER"]})
    wait_finished(d, qid)
    wait_reports(d, bounces, 1)
    time.sleep(QUIET)
    [(_, dsn)] = reports(bounces)
    assert dsn.final_recipients() == ["loud@dest.test"]


def test_null_sender_failure_is_not_bounced(relay, remote):
    remote("127.0.0.2", rules={"bad@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, "", ["bad@dest.test"], message_with("from null sender"))
    [line] = wait_lines(d, 1, qid=qid)
    assert line["status"] == "bounced", line["line"]
    wait_finished(d, qid)
    time.sleep(QUIET)
    assert notifications(d) == [], "a bounce was made for mail from <>"
    assert bounces.connections() == 0


def test_bounce_is_never_bounced(relay, remote):
    # The sender's own MX refuses the bounce: it must be dropped (and logged),
    # not answered with a bounce of the bounce.
    gone = "gone@sender.test"
    remote("127.0.0.2", rules={"bad@dest.test": "550"})
    bounce_mx = remote(BOUNCE_IP, rules={gone: "550"})
    d = relay()
    qid = send(d, gone, ["bad@dest.test"], message_with("sender is gone"))
    [(_, bid)] = wait_for(lambda: notifications(d, qid), TIMEOUT, "the bounce", d)
    [bline] = wait_lines(d, 1, qid=bid, rcpt=gone)
    assert bline["status"] == "bounced", bline["line"]
    wait_finished(d, qid)
    wait_for(lambda: removed(d, bid), TIMEOUT, f"'{bid}: removed'", d)
    time.sleep(QUIET)
    assert notifications(d) == [(qid, bid)], "a bounce of a bounce was made"
    assert [e["rcpt"] for e in bounce_mx.events("rcpt")] == [gone]
    assert bounce_mx.messages() == []


def test_notify_success_without_remote_dsn_gets_relayed_notice(relay, remote):
    # aiosmtpd does not offer DSN, so ringmta itself must confirm the delivery.
    mx = remote("127.0.0.2")
    notices = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["happy@dest.test"], message_with("success notice"),
               rcpt_options={"happy@dest.test": ["NOTIFY=SUCCESS"]})
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "the delivery", d)
    [(env, dsn)] = wait_reports(d, notices, 1)
    assert env["rcpt_tos"] == [SENDER]
    block = dsn.recipient("happy@dest.test")
    assert block["Action"].strip().lower() == "relayed", dict(block.items())
    assert block["Status"].strip().startswith("2."), dict(block.items())
    wait_for(lambda: notifications(d, qid, kind="delivery status"), TIMEOUT,
             "the success notice log line", d)
    assert notifications(d, qid) == [], "a success must not log a non-delivery notice"


def test_one_bounce_for_failures_in_several_domains(relay, remote):
    # Three recipients fail for three reasons on three routes; one report
    # names them all (the message's failures share one bounce).
    remote("127.0.0.2", rules={"bad@dest.test": "550"})
    bounces = remote(BOUNCE_IP)
    d = relay()
    rcpts = ["bad@dest.test", "x@nullmx.test", "y@nosuch.test"]
    qid = send(d, SENDER, rcpts, message_with("three failures"))
    wait_finished(d, qid)
    wait_reports(d, bounces, 1)
    time.sleep(QUIET)
    got = reports(bounces)
    assert len(got) == 1, [dsn.final_recipients() for _, dsn in got]
    assert got[0][1].final_recipients() == sorted(rcpts)
    statuses = {r: got[0][1].recipient(r)["Status"].strip() for r in rcpts}
    assert statuses == {"bad@dest.test": "5.1.1", "x@nullmx.test": "5.1.10",
                        "y@nosuch.test": "5.1.2"}, statuses
    assert len(notifications(d, qid)) == 1


def test_message_over_remote_size_limit_bounces(relay, remote):
    # The remote announces SIZE 2000 (RFC 1870); a 6 KB message cannot go
    # there, now or later: a permanent failure, and the body is never sent.
    mx = remote("127.0.0.2", size_limit=2000)
    bounces = remote(BOUNCE_IP)
    d = relay()
    qid = send(d, SENDER, ["small@dest.test"], message_with("too big", body=b"y" * 6000 + b"\r\n"))
    [(_, dsn)] = wait_reports(d, bounces, 1)
    block = dsn.recipient("small@dest.test")
    assert block["Action"].strip().lower() == "failed", dict(block.items())
    assert block["Status"].strip().startswith("5.3."), dict(block.items())
    [line] = wait_lines(d, 1, qid=qid)
    assert line["status"] == "bounced", line["line"]
    assert mx.messages() == [], "a message over the announced SIZE was sent anyway"
