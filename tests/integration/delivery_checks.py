"""tests/integration/delivery_checks.py — what delivery tests look at, and how they send.

Helpers for the delivery tests (fixtures are in delivery_fixtures.py):
  - wait_for / wait_lines: bounded polling (every wait has a deadline);
  - send / message_with: submit a message to the daemon with DSN parameters;
  - delivery_lines / notifications / removed / queue_empty: the daemon's
    Postfix-like log lines ("ID: to=<..>, relay=.., delay=.., dsn=.., status=..")
    and its queue as `ringmtactl queue list` shows it;
  - Dsn / reports: RFC 3464 reports parsed with Python's email package.
"""

import email
import re
import smtplib
import time

import pytest

from conftest import make_message, queue_id_of

SENDER = "alice@sender.test"    # its domain's MX (127.0.0.9) receives the bounces


# ---------------------------------------------------------------- waiting

def wait_for(predicate, timeout, what, daemon=None, interval=0.1):
    """Poll predicate() until it returns a truthy value (returned) or fail after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            tail = f"\n--- daemon log tail ---\n{daemon.log_tail(40)}" if daemon else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}{tail}")
        time.sleep(interval)


# ---------------------------------------------------------------- sending

def send(daemon, sender, rcpts, message=None, mail_options=(), rcpt_options=None, n=0):
    """One message over smtplib; rcpt_options maps a recipient to its RCPT parameters.
    Returns the queue ID."""
    message = message if message is not None else make_message(n)
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        code, resp = s.mail(sender, list(mail_options))
        assert code == 250, (code, resp)
        for r in rcpts:
            code, resp = s.rcpt(r, list((rcpt_options or {}).get(r, ())))
            assert code == 250, (r, code, resp)
        code, resp = s.data(message)
        assert code == 250, (code, resp)
        return queue_id_of(resp)


def message_with(subject, body=b"", n=0):
    """An RFC 5322 message with a recognisable subject and body marker."""
    return (f"From: {SENDER}\r\nTo: someone@dest.test\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '-')}.{n}.{time.time_ns()}@client.test>\r\n"
            f"\r\n").encode() + body + b"body line\r\n"


# ---------------------------------------------------------------- the daemon's log

# "ID: to=<rcpt>, relay=HOST[IP]:PORT, delay=S, dsn=X.Y.Z, status=sent (REPLY)";
# other "key=value, " fields (Postfix has orig_to=, delays=) are tolerated between.
DELIVERY_RE = re.compile(
    r"(?P<id>[0-9A-Za-z]+): to=<(?P<rcpt>[^>]*)>, (?:\w+=[^,]*, )*?"
    r"relay=(?P<relay>[^,]+), (?:\w+=[^,]*, )*?delay=(?P<delay>[0-9.]+), "
    r"(?:\w+=[^,]*, )*?dsn=(?P<dsn>[245]\.\d{1,3}\.\d{1,3}), "
    r"status=(?P<status>sent|deferred|bounced|expired)(?: \((?P<reply>.*)\))?\s*$")
NOTICE_RE = re.compile(
    r"(?P<id>[0-9A-Za-z]+): sender (?P<kind>non-delivery|delay|delivery status) "
    r"notification: (?P<bounce>[0-9A-Za-z]+)\s*$")
REMOVED_RE = re.compile(r"(?P<id>[0-9A-Za-z]+): removed\s*$")


def delivery_lines(daemon, qid=None, rcpt=None, status=None):
    """The daemon's per-recipient delivery log lines as dicts, filtered."""
    out = []
    for line in daemon.log().splitlines():
        m = DELIVERY_RE.search(line)
        if not m:
            continue
        d = m.groupdict()
        if qid is not None and d["id"] != qid:
            continue
        if rcpt is not None and d["rcpt"].lower() != rcpt.lower():
            continue
        if status is not None and d["status"] != status:
            continue
        d["line"] = line
        out.append(d)
    return out


def notifications(daemon, qid=None, kind="non-delivery"):
    """[(original ID, notification ID)] from 'ID: sender KIND notification: BID' lines."""
    out = []
    for line in daemon.log().splitlines():
        m = NOTICE_RE.search(line)
        if m and m["kind"] == kind and (qid is None or m["id"] == qid):
            out.append((m["id"], m["bounce"]))
    return out


def removed(daemon, qid):
    return any((m := REMOVED_RE.search(line)) and m["id"] == qid
               for line in daemon.log().splitlines())


def queue_empty(daemon):
    """`ringmtactl queue list` prints nothing."""
    return daemon.ctl("queue", "list").stdout.strip() == b""


# ---------------------------------------------------------------- DSN reports

class Dsn:
    """An RFC 3464 report parsed with Python's email package."""

    def __init__(self, raw):
        self.raw = raw
        self.msg = email.message_from_bytes(raw)
        assert self.msg.get_content_type() == "multipart/report", self.msg.get_content_type()
        assert self.msg.get_param("report-type") == "delivery-status", self.msg["Content-Type"]
        self.parts = self.msg.get_payload()
        assert isinstance(self.parts, list) and len(self.parts) >= 2, "report needs 2+ parts"
        assert self.parts[0].get_content_maintype() == "text", "first part must be human-readable"
        status = [p for p in self.parts if p.get_content_type() == "message/delivery-status"]
        assert len(status) == 1, [p.get_content_type() for p in self.parts]
        blocks = [b for b in status[0].get_payload() if len(b.keys()) > 0]
        assert len(blocks) >= 2, "delivery-status needs per-message and per-recipient fields"
        self.per_message = blocks[0]
        self.recipients = blocks[1:]
        self.original = None       # the returned message or its headers
        self.original_type = None
        for p in self.parts[2:]:
            if p.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
                self.original_type = p.get_content_type()
                payload = p.get_payload()
                if isinstance(payload, list):      # message/rfc822: one Message
                    self.original = payload[0].as_bytes()
                else:
                    self.original = p.get_payload(decode=True)

    def recipient(self, address):
        """The per-recipient block whose Final-Recipient is address (asserts one)."""
        found = [r for r in self.recipients
                 if address_of(r["Final-Recipient"]).lower() == address.lower()]
        assert len(found) == 1, (address, [r["Final-Recipient"] for r in self.recipients])
        return found[0]

    def final_recipients(self):
        return sorted(address_of(r["Final-Recipient"]).lower() for r in self.recipients)


def address_of(typed):
    """'rfc822; a@b' -> 'a@b'."""
    assert typed and ";" in typed, f"not an address-type field: {typed!r}"
    return typed.split(";", 1)[1].strip()


def reports(recorder):
    """[(envelope dict, Dsn)] for every null-sender message a recorder received."""
    out = []
    for m in recorder.messages():
        if m["mail_from"] == "":
            out.append((m, Dsn(m["data"])))
    return out


def wait_lines(daemon, count, timeout=10.0, **filters):
    """Wait until at least count delivery log lines match filters (the daemon's
    log is flushed about once a second); returns them."""
    what = f"{count} delivery log line(s) with {filters}"
    return wait_for(lambda: (lambda ls: ls if len(ls) >= count else None)(
        delivery_lines(daemon, **filters)), timeout, what, daemon)
