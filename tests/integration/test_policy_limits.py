"""tests/integration/test_policy_limits.py — relay policy and protocol limits.

The relay must refuse to be an open relay (550 5.7.1 for untrusted clients
to non-local domains), enforce its size/recipient/line limits with the right
codes, reject bad syntax and bad sequences, hang up on idle or abusive
clients (421) and refuse DATA with bare LF (554 5.6.0). The config from
conftest: trusted 127.0.0.1/32, local_domains local.test, max size 100000,
5 recipients, 2 s command / 3 s data timeout, 5 errors.

An untrusted client is simulated by binding the client socket to 127.0.0.2.
"""

import smtplib

import pytest

from conftest import RawSmtp, make_message, queue_id_of, smtplib_send

UNTRUSTED = ("127.0.0.2", 0)


def enhanced(text):
    """The RFC 3463 enhanced status code at the start of a reply text."""
    return text.split()[0] if text else ""


# ------------------------------------------------------------- relay policy

def test_untrusted_client_cannot_relay(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30, source_address=UNTRUSTED) as s:
        s.ehlo("outsider.test")
        assert s.mail("someone@outsider.test")[0] == 250
        code, resp = s.rcpt("victim@elsewhere.example")
        assert code == 550, resp
        assert resp.decode().startswith("5.7.1"), resp
        # local domains are accepted from anyone, in the same transaction
        assert s.rcpt("postmaster@local.test")[0] == 250
        code, resp = s.data(make_message(1))
        assert code == 250, resp
        qid = queue_id_of(resp)
    [m] = daemon.queue_list_json()
    assert m["id"] == qid
    assert m["recipients"] == ["postmaster@local.test"]


def test_untrusted_local_domain_case_insensitive(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30, source_address=UNTRUSTED) as s:
        s.ehlo("outsider.test")
        assert s.mail("someone@outsider.test")[0] == 250
        assert s.rcpt("User@LOCAL.Test")[0] == 250


def test_untrusted_only_foreign_recipients_no_data(daemon):
    with RawSmtp(daemon.port, source=UNTRUSTED) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@outsider.test>", 250)
        code, text = c.cmd("RCPT TO:<b@elsewhere.example>")
        assert code == 550 and enhanced(text) == "5.7.1", text
        code, text = c.cmd("DATA")
        assert code in (503, 554), text
    assert daemon.queue_ids() == []


def test_trusted_client_may_relay_anywhere(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("inside.test")
        qid = smtplib_send(s, "a@inside.test", ["x@elsewhere.example", "y@far.example"],
                           make_message(2))
    [m] = daemon.queue_list_json()
    assert m["id"] == qid
    assert m["recipients"] == ["x@elsewhere.example", "y@far.example"]


# ------------------------------------------------------------- size and counts

def test_mail_size_parameter_too_big(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        code, text = c.cmd("MAIL FROM:<a@client.test> SIZE=100001")
        assert code == 552 and enhanced(text) == "5.3.4", text
        code, text = c.cmd("MAIL FROM:<a@client.test> SIZE=1000")
        assert code == 250, text


def test_message_too_big_in_data(daemon):
    body = (b"x" * 998 + b"\r\n") * 110  # ~110 kB > 100000
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: big\r\n\r\n" + body + b".\r\n")
        code, text = c.reply()
        assert code == 552 and enhanced(text) == "5.3.4", text
        # The session goes on: a small message is still accepted.
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.expect("DATA", 354)
        code, text = c.cmd("Subject: small\r\n\r\nok\r\n.")
        assert code == 250, text
        qid = queue_id_of(text)
    assert daemon.queue_ids() == [qid]


def test_message_too_big_in_bdat(daemon):
    chunk = b"y" * 60000
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        assert c.reply()[0] == 250
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        code, text = c.reply()
        assert code == 552 and enhanced(text) == "5.3.4", text
    assert daemon.queue_ids() == []


def test_too_many_recipients(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        for i in range(5):
            c.expect(f"RCPT TO:<r{i}@local.test>", 250)
        code, text = c.cmd("RCPT TO:<r5@local.test>")
        assert code == 452 and enhanced(text) == "4.5.3", text
        c.expect("DATA", 354)
        code, text = c.cmd("Subject: five\r\n\r\nx\r\n.")
        assert code == 250, text
        qid = queue_id_of(text)
    [m] = daemon.queue_list_json()
    assert m["id"] == qid and len(m["recipients"]) == 5


# ------------------------------------------------------------- syntax and sequence

@pytest.mark.parametrize("line,codes,classes", [
    # (a bare "MAIL FROM:a@b" without brackets is tolerated on purpose, as by Postfix)
    ("MAIL FROM:<a@client.test", (501,), ("5.5.4", "5.1.7", "5.5.2")),  # unclosed bracket
    ("MAIL FROM:<a@client.test> FOO=BAR", (555, 501), ("5.5.4",)),     # unknown parameter
    ("MAIL FROM:<a@client.test> SIZE=abc", (501, 555), ("5.5.4",)),    # bad SIZE value
    ("MAIL FROM:<not an address>", (501, 553), ("5.1.7", "5.1.3", "5.5.4")),
    ("MAIL", (501,), ("5.5.4", "5.5.2")),
])
def test_bad_mail_syntax(daemon, line, codes, classes):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        code, text = c.cmd(line)
        assert code in codes and enhanced(text) in classes, (line, code, text)
        c.expect("MAIL FROM:<a@client.test>", 250)  # the session is still usable


@pytest.mark.parametrize("line,codes,classes", [
    ("RCPT TO:<b@local.test", (501,), ("5.5.4", "5.1.3")),
    ("RCPT TO:<b@@local.test>", (501, 553), ("5.1.3", "5.5.4")),
    ("RCPT TO:<b@>", (501, 553), ("5.1.3", "5.5.4")),
    ("RCPT TO:<b@local.test> NOTIFY=BOGUS", (501, 555), ("5.5.4",)),
])
def test_bad_rcpt_syntax(daemon, line, codes, classes):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        code, text = c.cmd(line)
        assert code in codes and enhanced(text) in classes, (line, code, text)
        c.expect("RCPT TO:<b@local.test>", 250)


def test_unknown_command(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        code, text = c.cmd("FROBNICATE now")
        assert code in (500, 502) and enhanced(text).startswith("5.5."), text
        assert c.cmd("NOOP")[0] == 250


def test_rcpt_before_mail(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        code, text = c.cmd("RCPT TO:<b@local.test>")
        assert code == 503 and enhanced(text) == "5.5.1", text


def test_data_before_rcpt(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        code, text = c.cmd("DATA")
        assert code == 503 and enhanced(text) == "5.5.1", text
        c.expect("MAIL FROM:<a@client.test>", 250)
        code, text = c.cmd("DATA")
        assert code == 503 and enhanced(text) == "5.5.1", text


def test_nested_mail(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        code, text = c.cmd("MAIL FROM:<b@client.test>")
        assert code == 503 and enhanced(text) == "5.5.1", text
        c.expect("RSET", 250)
        c.expect("MAIL FROM:<b@client.test>", 250)


def test_command_line_too_long(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        code, text = c.cmd("NOOP " + "x" * 10000)
        assert code == 500 and enhanced(text) == "5.5.2", text


# ------------------------------------------------------------- timeouts and abuse

def test_command_timeout_421_and_close(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        # command_timeout is 2 s; the reply must come well within IO_TIMEOUT.
        code, text = c.reply()
        assert code == 421 and enhanced(text) == "4.4.2", text
        assert c.closed_by_peer(), "server kept the connection open after 421"


def test_data_timeout_421_and_close(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: stalled\r\n\r\npartial")
        code, text = c.reply()
        assert code == 421 and enhanced(text) == "4.4.2", text
        assert c.closed_by_peer()
    assert daemon.queue_ids() == []


def test_too_many_errors_421_and_close(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        replies = []
        for _ in range(10):  # max_errors is 5; 421 must come before the 10th
            code, text = c.cmd("BOGUS")
            replies.append((code, text))
            if code == 421:
                break
        assert replies[-1][0] == 421 and enhanced(replies[-1][1]) == "4.7.0", replies
        assert 5 <= len(replies) <= 6, replies
        assert c.closed_by_peer()


def test_bare_lf_in_data_rejected(daemon):
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: bare lf\r\n\r\nline one\nline two\r\n.\r\n")
        code, text = c.reply()
        assert code == 554 and enhanced(text) == "5.6.0", text
        # The transaction is over; a new one works.
        c.expect("MAIL FROM:<a@client.test>", 250)
    assert daemon.queue_ids() == []


def test_nul_in_data_rejected(daemon):
    """README's DATA policy: NUL octets are refused like bare LF."""
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: nul\r\n\r\nbad \x00 byte\r\n.\r\n")
        code, text = c.reply()
        assert code == 554 and enhanced(text).startswith("5.6."), text
    assert daemon.queue_ids() == []
