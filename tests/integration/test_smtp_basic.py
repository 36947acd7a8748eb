"""tests/integration/test_smtp_basic.py — the happy paths of inbound SMTP.

Real clients (Python's smtplib, swaks, a raw socket for PIPELINING and BDAT)
send to a running ringmta; `ringmtactl queue list` must then show what the
250 replies promised. These are the paths every user of the relay takes.
"""

import datetime
import re
import smtplib
import subprocess
import time

from conftest import RawSmtp, make_message, queue_id_of, smtplib_send

EXPECTED_EHLO = ["pipelining", "size", "8bitmime", "enhancedstatuscodes",
                 "smtputf8", "chunking", "dsn"]


def test_smtplib_send_is_queued(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        msg = make_message(1)
        qid = smtplib_send(s, "sender@client.test", ["rcpt@local.test"], msg)
    assert re.fullmatch(r"[0-9A-Za-z]{6,32}", qid), qid
    listed = daemon.queue_list_json()
    assert [m["id"] for m in listed] == [qid]
    assert listed[0]["sender"] == "sender@client.test"
    assert listed[0]["recipients"] == ["rcpt@local.test"]
    # The log names each accepted message: queue ID, client, sender, size, recipients.
    lines = [l for l in daemon.wait_log(qid).splitlines() if qid in l]
    assert lines, daemon.log_tail()
    assert any("127.0.0.1" in l and "sender@client.test" in l and "rcpt@local.test" in l
               and re.search(r"size\D{0,3}\d+", l) for l in lines), lines


def test_greeting_and_ehlo_keywords(daemon):
    with RawSmtp(daemon.port) as c:
        code, text = c.reply()
        assert code == 220
        assert "mx.test.example" in text
        code, text = c.cmd("EHLO client.test")
        assert code == 250
        lines = text.split("\n")
        assert lines[0].startswith("mx.test.example")
        keywords = {l.split()[0].lower(): l.split()[1:] for l in lines[1:] if l.strip()}
        for kw in EXPECTED_EHLO:
            assert kw in keywords, f"EHLO lacks {kw}: {lines}"
        assert keywords["size"] == ["100000"], keywords["size"]
        assert c.cmd("QUIT")[0] == 221


def test_smtplib_sees_extensions(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        for kw in EXPECTED_EHLO:
            assert s.has_extn(kw), kw


def test_helo_then_send(daemon):
    with RawSmtp(daemon.port) as c:
        assert c.reply()[0] == 220
        c.expect("HELO client.test", 250)
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<b@local.test>", 250)
        c.expect("DATA", 354)
        code, text = c.cmd("Subject: helo\r\n\r\nbody\r\n.")
        assert code == 250, text
        qid = queue_id_of(text)
    assert daemon.queue_ids() == [qid]


def _swaks(daemon, *extra):
    cmd = ["swaks", "--server", f"127.0.0.1:{daemon.port}", "--to", "a@local.test",
           "--from", "b@x.test", "--helo", "client.test", "--timeout", "20", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def test_swaks_send(daemon):
    cp = _swaks(daemon)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    assert "250 2.0.0" in cp.stdout
    qid = queue_id_of(cp.stdout)
    listed = daemon.queue_list_json()
    assert [m["id"] for m in listed] == [qid]
    assert listed[0]["sender"] == "b@x.test"
    assert listed[0]["recipients"] == ["a@local.test"]


def test_swaks_pipelining(daemon):
    cp = _swaks(daemon, "--pipeline", "--to", "a@local.test,c@local.test")
    assert cp.returncode == 0, cp.stdout + cp.stderr
    qid = queue_id_of(cp.stdout)
    listed = daemon.queue_list_json()
    assert [m["id"] for m in listed] == [qid]
    assert sorted(listed[0]["recipients"]) == ["a@local.test", "c@local.test"]


def test_raw_pipelined_transaction(daemon):
    """RFC 2920: MAIL, RCPT x2 and DATA in one write; replies come back in order."""
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.send("MAIL FROM:<p@client.test>\r\nRCPT TO:<x@local.test>\r\n"
               "RCPT TO:<y@local.test>\r\nDATA\r\n")
        assert [c.reply()[0] for _ in range(4)] == [250, 250, 250, 354]
        c.send("Subject: pipelined\r\n\r\nhello\r\n.\r\nMAIL FROM:<q@client.test>\r\n"
               "RCPT TO:<z@local.test>\r\nDATA\r\n")
        code, text = c.reply()
        assert code == 250
        first = queue_id_of(text)
        assert [c.reply()[0] for _ in range(3)] == [250, 250, 354]
        code, text = c.cmd("second\r\n.")
        assert code == 250
        second = queue_id_of(text)
        assert c.cmd("QUIT")[0] == 221
    assert first != second
    assert sorted(daemon.queue_ids()) == sorted([first, second])


def test_bdat_chunks(daemon):
    """CHUNKING (RFC 3030): BDAT bytes are stored verbatim, no dot-stuffing."""
    part1 = b"Subject: bdat\r\n\r\nfirst chunk\r\n.\r\n..not stuffed\r\n"
    part2 = b"second chunk \xc3\xa9\r\n"
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<bdat@client.test>", 250)
        c.expect("RCPT TO:<r@local.test>", 250)
        c.send(b"BDAT %d\r\n" % len(part1) + part1)
        code, text = c.reply()
        assert code == 250, text
        c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
        code, text = c.reply()
        assert code == 250, text
        qid = queue_id_of(text)
        # A second message: chunks pipelined in one write, then BDAT 0 LAST.
        c.send(b"MAIL FROM:<bdat@client.test>\r\nRCPT TO:<r@local.test>\r\n"
               + b"BDAT %d\r\n" % len(part1) + part1 + b"BDAT 0 LAST\r\n")
        codes = [c.reply() for _ in range(4)]
        assert [x[0] for x in codes] == [250, 250, 250, 250], codes
        qid2 = queue_id_of(codes[3][1])
        assert c.cmd("QUIT")[0] == 221
    stored = daemon.queue_cat(qid)
    assert stored.startswith(b"Received: ")
    assert stored.endswith(part1 + part2)
    stored2 = daemon.queue_cat(qid2)
    assert stored2.startswith(b"Received: ")
    assert stored2.endswith(part1)
    assert sorted(daemon.queue_ids()) == sorted([qid, qid2])


def test_queue_list_text_and_json(daemon):
    sent = {}
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        for i in range(3):
            msg = make_message(i, body_lines=10 * (i + 1))
            rcpts = [f"r{i}@local.test", f"s{i}@elsewhere.example"]
            qid = smtplib_send(s, f"from{i}@client.test", rcpts, msg)
            sent[qid] = (f"from{i}@client.test", rcpts, len(msg))
    assert len(sent) == 3

    text = daemon.ctl("queue", "list").stdout.decode()
    lines = [l for l in text.splitlines() if l.strip()]
    ids_text = {l.split()[0] for l in lines if l.split()[0] in sent}
    assert ids_text == set(sent), text

    now = time.time()
    listed = daemon.queue_list_json()
    assert {m["id"] for m in listed} == set(sent)
    for m in listed:
        sender, rcpts, msg_len = sent[m["id"]]
        assert m["sender"] == sender
        assert m["recipients"] == rcpts
        assert isinstance(m["size"], int) and m["size"] >= msg_len
        assert isinstance(m["arrival_unix"], int)
        assert abs(m["arrival_unix"] - now) < 3600
        arrival = datetime.datetime.fromisoformat(m["arrival"].replace("Z", "+00:00"))
        assert arrival.utcoffset() == datetime.timedelta(0), m["arrival"]
        assert abs(arrival.timestamp() - m["arrival_unix"]) <= 1


def test_queue_works_while_stopped(daemon):
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        qid = smtplib_send(s, "a@client.test", ["b@local.test"], make_message(7))
    running_view = daemon.queue_cat(qid)
    daemon.stop()
    assert daemon.queue_ids() == [qid]
    assert daemon.queue_cat(qid) == running_view
