#!/usr/bin/python3
"""tests/unit/mail/check_dsn.py — check a composed DSN with Python's email package.

An independent parser is the point: if Python's email package reads our
multipart/report the way RFC 3464 means it, real mail clients and bounce
processors most likely will too.

Usage: check_dsn.py DSN_FILE EXPECT_FILE
EXPECT_FILE lines (all optional, any order):
  report-type=delivery-status | global-delivery-status
  third=text/rfc822-headers | message/rfc822 | message/global | message/global-headers
  envid=<Original-Envelope-Id>
  orig-header=<Name>: <value>        a header the returned original must hold
  rcpt=<final addr>|<action>|<status>|<Original-Recipient or empty>|<Diagnostic-Code substring or empty>
Exit status 0 when every check passes; messages on stderr otherwise.
"""
import email
import email.parser
import re
import sys

errors = []


def check(cond, what):
    if not cond:
        errors.append(what)
    return cond


def unfold(v):
    return re.sub(r"\r?\n([ \t])", r"\1", str(v)).strip() if v is not None else None


def addr_of(field):
    # "rfc822; bob@x" -> "bob@x"
    return field.split(";", 1)[1].strip() if field and ";" in field else field


def status_blocks(part):
    """The per-message block and the per-recipient blocks of a report part."""
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status":
        return payload[0], payload[1:]
    # message/global-delivery-status is parsed as one embedded message by
    # Python: its headers are the per-message block, its body the rest.
    inner = payload[0] if isinstance(payload, list) else email.message_from_string(payload)
    body = inner.get_payload()
    blocks = [b for b in re.split(r"\r?\n\r?\n", body) if b.strip()]
    return inner, [email.parser.HeaderParser().parsestr(b + "\r\n") for b in blocks]


def main():
    raw = open(sys.argv[1], "rb").read()
    expect = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8") if l.strip()]
    exp = {}
    rcpts, orig_headers = [], []
    for line in expect:
        k, v = line.split("=", 1)
        if k == "rcpt":
            rcpts.append(v.split("|"))
        elif k == "orig-header":
            orig_headers.append(v)
        else:
            exp[k] = v

    # Wire form: CRLF only, lines <= 998 octets.
    for n, line in enumerate(raw.split(b"\r\n")):
        check(b"\n" not in line and b"\r" not in line, f"bare CR/LF in line {n + 1}")
        check(len(line) <= 998, f"line {n + 1} longer than 998 octets")

    msg = email.message_from_string(raw.decode("utf-8", "surrogateescape"))
    for part in msg.walk():
        check(not part.defects, f"parser defects in {part.get_content_type()}: {part.defects}")
    check(msg.get_content_type() == "multipart/report", "not multipart/report")
    check(msg.get_param("report-type") == exp.get("report-type", "delivery-status"), "wrong report-type")
    check(msg["Auto-Submitted"] == "auto-replied", "Auto-Submitted missing")
    for h in ("Date", "From", "To", "Subject", "Message-ID"):
        check(msg[h], f"{h} missing")

    parts = msg.get_payload()
    if not check(isinstance(parts, list) and len(parts) == 3, f"want 3 parts, got {len(parts)}"):
        return
    text, report, third = parts
    check(text.get_content_type() == "text/plain", "part 1 is not text/plain")
    check(report.get_content_type() in ("message/delivery-status", "message/global-delivery-status"),
          "part 2 is not a delivery-status")

    per_msg, per_rcpt = status_blocks(report)
    check(per_msg["Reporting-MTA"] and per_msg["Reporting-MTA"].startswith("dns;"), "Reporting-MTA missing")
    check(unfold(per_msg["Original-Envelope-Id"]) == exp.get("envid"), "Original-Envelope-Id wrong")
    if check(len(per_rcpt) == len(rcpts), f"want {len(rcpts)} recipient blocks, got {len(per_rcpt)}"):
        for block, (final, action, status, orcpt, diag) in zip(per_rcpt, rcpts):
            check(addr_of(unfold(block["Final-Recipient"])) == final, f"Final-Recipient {block['Final-Recipient']!r} != {final!r}")
            check(block["Action"] == action, f"Action {block['Action']!r} != {action!r}")
            check(block["Status"] == status, f"Status {block['Status']!r} != {status!r}")
            got_orcpt = unfold(block["Original-Recipient"])
            check((got_orcpt or "") == orcpt, f"Original-Recipient {got_orcpt!r} != {orcpt!r}")
            got_diag = unfold(block["Diagnostic-Code"]) or ""
            check(diag in got_diag, f"Diagnostic-Code {got_diag!r} lacks {diag!r}")
            check(final in text.get_payload(), f"text part does not name {final}")

    want_third = exp.get("third", "text/rfc822-headers")
    check(third.get_content_type() == want_third, f"part 3 is {third.get_content_type()}, want {want_third}")
    if third.get_content_maintype() == "message":
        returned = third.get_payload()[0]
    else:
        returned = email.parser.HeaderParser().parsestr(third.get_payload())
    for h in orig_headers:
        name, value = h.split(": ", 1)
        check(unfold(returned[name]) == value, f"returned original: {name} {returned[name]!r} != {value!r}")


if __name__ == "__main__":
    main()
    for e in errors:
        print("check_dsn:", e, file=sys.stderr)
    sys.exit(1 if errors else 0)
