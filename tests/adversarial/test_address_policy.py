"""tests/adversarial/test_address_policy.py — strict address policy for strangers.

An untrusted (outside relay.trusted_networks), unauthenticated client must not
be able to make ringmta forward mail by the address's own routing: `%`, `!`,
a quoted local part holding `@`, or a source route (`<@a,@b:user@dom>`) in a
recipient gets 550 5.7.1 — even at a local domain (Postfix's
allow_untrusted_routing = no). A source route in MAIL FROM is ignored (RFC
5321 §4.1.2: the mailbox is kept). `RCPT TO:<postmaster>` is accepted from
anyone (RFC 5321 §4.5.1) and, since server.hostname (mx.test.example) is not
a local domain here, means postmaster@<first local domain>.

The stranger is a socket bound to 127.0.0.2 (trusted_networks is
127.0.0.1/32, as in tests/integration/test_policy_limits.py).
"""

import smtplib

from conftest import RawSmtp, make_message, queue_id_of
from auth_fixtures import USERS, auth_daemon
from delivery_checks import wait_for
from test_bench_tools import Sink

UNTRUSTED = ("127.0.0.2", 0)

# The three addresses of issue 15 and their relatives; all at the local domain.
ROUTED = [
    "victim%target.example@local.test",
    "target.example!victim@local.test",
    '"v@target.example"@local.test',
    "@evil.test:v@local.test",
    "@a.test,@b.test:v@local.test",
    '"a%b"@local.test',
    "v%target.example@LOCAL.TEST",
]


def enhanced(text):
    return text.split()[0] if text else ""


def patient_daemon(daemon_factory):
    """The test config allows 5 errors; every 550 counts, and we send more."""
    return daemon_factory({"limits": {"max_errors": 50}})


def test_stranger_gets_550_for_routed_recipients(daemon_factory):
    daemon = patient_daemon(daemon_factory)
    with RawSmtp(daemon.port, source=UNTRUSTED) as c:
        c.greet_ehlo("stranger.test")
        c.expect("MAIL FROM:<s@stranger.test>", 250)
        for addr in ROUTED:
            code, text = c.cmd(f"RCPT TO:<{addr}>")
            assert code == 550 and enhanced(text) == "5.7.1", (addr, code, text)
        # Plain local recipients still work in the same transaction.
        c.expect("RCPT TO:<plain@local.test>", 250)
        c.expect('RCPT TO:<"quoted user"@local.test>', 250)
        c.expect("DATA", 354)
        c.send(make_message(1) + b".\r\n")
        code, text = c.reply()
        assert code == 250, text
        qid = queue_id_of(text)
    [m] = daemon.queue_list_json()
    assert m["id"] == qid
    assert m["recipients"] == ["plain@local.test", '"quoted user"@local.test']


def test_stranger_routed_recipients_with_smtplib(daemon_factory):
    daemon = patient_daemon(daemon_factory)
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30, source_address=UNTRUSTED) as s:
        s.ehlo("stranger.test")
        assert s.mail("s@stranger.test")[0] == 250
        for addr in ("victim%target.example@local.test", "target.example!victim@local.test"):
            code, resp = s.rcpt(addr)
            assert code == 550 and resp.decode().startswith("5.7.1"), (addr, code, resp)
        # smtplib would rewrite these through its address parser: send them as typed.
        for addr in ('"v@target.example"@local.test', "@evil.test:v@local.test"):
            code, resp = s.docmd(f"RCPT TO:<{addr}>")
            assert code == 550 and resp.decode().startswith("5.7.1"), (addr, code, resp)
        # No recipient accepted: no message.
        code, resp = s.docmd("DATA")
        assert code in (503, 554), resp
    assert daemon.queue_ids() == []


def test_source_route_in_mail_from_is_ignored(daemon):
    with RawSmtp(daemon.port, source=UNTRUSTED) as c:
        c.greet_ehlo("stranger.test")
        c.expect("MAIL FROM:<@hop1.test,@hop2.test:sender@stranger.test>", 250)
        c.expect("RCPT TO:<r@local.test>", 250)
        c.expect("DATA", 354)
        c.send(make_message(2) + b".\r\n")
        code, text = c.reply()
        assert code == 250, text
    [m] = daemon.queue_list_json()
    assert m["sender"] == "sender@stranger.test"
    assert m["recipients"] == ["r@local.test"]


def test_trusted_client_keeps_routing(daemon):
    # 127.0.0.1 is trusted: today's behaviour, the source route dropped.
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo("inside.test")
        c.expect("MAIL FROM:<a@inside.test>", 250)
        for addr in ROUTED[:5]:
            c.expect(f"RCPT TO:<{addr}>", 250)
        c.expect("DATA", 354)
        c.send(make_message(3) + b".\r\n")
        assert c.reply()[0] == 250
    [m] = daemon.queue_list_json()
    assert m["recipients"] == ["victim%target.example@local.test", "target.example!victim@local.test",
                               '"v@target.example"@local.test', "v@local.test", "v@local.test"]


def test_authenticated_stranger_keeps_routing(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30, source_address=UNTRUSTED) as s:
        s.ehlo("roaming.test")
        s.login("alice", USERS["alice"])
        assert s.mail("alice@client.test")[0] == 250
        assert s.rcpt("victim%target.example@local.test")[0] == 250
        assert s.docmd("RCPT TO:<@evil.test:v@local.test>")[0] == 250
        code, resp = s.data(make_message(4))
        assert code == 250, resp
    [m] = d.queue_list_json()
    assert m["recipients"] == ["victim%target.example@local.test", "v@local.test"]


def test_postmaster_without_domain_from_a_stranger_is_delivered(daemon_factory, tmp_path):
    # server.hostname (mx.test.example) is not a local domain: <postmaster>
    # is postmaster@local.test, and that is what the next hop (the bench sink,
    # ringmta's relayhost) receives.
    sink = Sink(tmp_path)
    try:
        d = daemon_factory({"relay": {"local_domains": ["local.test", "other.test"]},
                            "delivery": {"relayhost": f"[127.0.0.1]:{sink.port}", "connect_timeout": "2s"},
                            "metrics": {"listen": ""}})
        with RawSmtp(d.port, source=UNTRUSTED) as c:
            c.greet_ehlo("stranger.test")
            c.expect("MAIL FROM:<s@stranger.test>", 250)
            c.expect("RCPT TO:<Postmaster>", 250)
            c.expect("DATA", 354)
            c.send(make_message(5) + b".\r\n")
            code, text = c.reply()
            assert code == 250, text
        records = wait_for(lambda: sink.records() if sink.record.exists() else [], 20.0,
                           "the postmaster message at the sink", d)
        assert [r["rcpts"] for r in records] == [["postmaster@local.test"]], records
        assert records[0]["from"] == "s@stranger.test"
    finally:
        sink.kill()
