"""tests/adversarial/test_mail_hops.py — the hop count (limits.max_hops).

At the end of DATA and of BDAT LAST ringmta counts the Received: fields of
the client's header section (its own Received: line, prepended to the stored
message, is not counted): more than limits.max_hops (default 50, like
Postfix's hopcount_limit) is refused with 554 5.4.6 and nothing is queued.
Checked with smtplib and raw BDAT, and with a real mail loop: two daemons
that relay everything to each other, where the hop count is what ends it.
"""

import smtplib

from conftest import RawSmtp, queue_id_of, render_toml
from delivery_checks import wait_for

TIMEOUT = 60.0


def message(hops, subject="hops"):
    received = "".join(f"Received: from h{i}.test by h{i + 1}.test; Mon, 7 Dec 2026 05:00:00 +0000\r\n"
                       for i in range(hops))
    return (received + f"From: a@client.test\r\nTo: r@local.test\r\nSubject: {subject}\r\n\r\n"
            "Received: a body line is not a header\r\n").encode()


def test_default_limit_is_50_by_data(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        for hops, want in ((50, 250), (51, 554), (200, 554), (0, 250)):
            assert s.mail("a@client.test")[0] == 250
            assert s.rcpt("r@local.test")[0] == 250
            code, resp = s.data(message(hops))
            assert code == want, (hops, code, resp)
            if want == 554:
                assert resp.decode() == "5.4.6 Too many hops", resp
    assert len(daemon.queue_ids()) == 2


def test_too_many_hops_by_bdat(daemon):
    body = message(51)
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<r@local.test>", 250)
        # The Received: fields straddle the chunk boundary.
        c.send(b"BDAT 1000\r\n" + body[:1000])
        assert c.reply()[0] == 250
        c.send(b"BDAT %d LAST\r\n" % (len(body) - 1000) + body[1000:])
        code, text = c.reply()
        assert (code, text) == (554, "5.4.6 Too many hops"), (code, text)
        # The session goes on: 50 hops by BDAT are fine.
        ok = message(50)
        c.send(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<r@local.test>\r\nBDAT %d LAST\r\n" % len(ok) + ok)
        replies = [c.reply() for _ in range(3)]
        assert [r[0] for r in replies] == [250, 250, 250], replies
        qid = queue_id_of(replies[2][1])
    assert daemon.queue_ids() == [qid]
    stored = daemon.queue_cat(qid)
    # Ours on top: 51 in the stored header section, one more than the client sent.
    header = stored.split(b"\r\n\r\n", 1)[0]
    assert sum(1 for line in header.split(b"\r\n") if line.startswith(b"Received: ")) == 51


def test_max_hops_setting(daemon_factory):
    d = daemon_factory({"limits": {"max_hops": 3}})
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        for hops, want in ((3, 250), (4, 554)):
            assert s.mail("a@client.test")[0] == 250
            assert s.rcpt("r@local.test")[0] == 250
            assert s.data(message(hops))[0] == want, hops
    assert len(d.queue_ids()) == 1


def test_a_real_loop_between_two_relays_ends_at_the_hop_limit(daemon_factory):
    """A relays everything to B and B to A (each trusts 127.0.0.1). One message
    goes round until a Received: count over max_hops is refused with 5.4.6; the
    bounce to the sender loops the same way and its own refusal ends it (a
    bounce never bounces). Both queues end empty."""
    limits = {"max_hops": 6}
    # Different hostnames: neither may take the other for itself (that is the
    # loop-to-self check's business, not the hop count's).
    a = daemon_factory({"server": {"hostname": "a.test.example"}, "limits": limits,
                        "metrics": {"listen": ""}}, start=False, name="a")
    b = daemon_factory({"server": {"hostname": "b.test.example"}, "limits": limits, "metrics": {"listen": ""},
                        "delivery": {"relayhost": f"[127.0.0.1]:{a.port}", "connect_timeout": "2s"}},
                       start=False, name="b")
    a.settings["delivery"] = {"relayhost": f"[127.0.0.1]:{b.port}", "connect_timeout": "2s"}
    a.config_path.write_text(render_toml(a.settings))
    a.start()
    b.start()
    with smtplib.SMTP("127.0.0.1", a.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("a@client.test")[0] == 250
        assert s.rcpt("r@far.test")[0] == 250
        code, resp = s.data(message(0, "loop"))
        assert code == 250, resp
    # 6 client Received: fields pass, the 7th is refused: 7 acceptances of the
    # message in all (A, B, A, ... since the first carried none).
    log = lambda: a.log() + b.log()
    wait_for(lambda: "Too many hops" in log(), TIMEOUT, "a 554 5.4.6 in either log", a)
    wait_for(lambda: not a.queue_ids() and not b.queue_ids(), TIMEOUT, "both queues empty", b)
    text = log()
    assert "5.4.6" in text
    assert text.count("status=sent") < 40, "the loop was not ended by the hop count"
