"""tests/integration/test_data_exact.py — the stored message is byte-exact.

A relay must not alter what it relays: after DATA's dot-unstuffing
(RFC 5321 4.5.2) the queue holds exactly the client's message, behind our own
Received: header. Lines beginning with dots, a lone "." inside the message,
long lines and 8-bit bytes are the classic places where this goes wrong, so
the raw-socket tests stuff the bytes themselves and also split the stream at
awkward points (between CR and LF, right before a dot).
"""

import smtplib
import time

from conftest import RawSmtp, dot_stuff, queue_id_of

TRICKY = (
    b"From: dots@client.test\r\n"
    b"To: r@local.test\r\n"
    b"Subject: dot lines and 8-bit\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=iso-8859-1\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b".\r\n"
    b"..\r\n"
    b".\t tab after dot\r\n"
    b"...three\r\n"
    b"a line\r\n"
    b".\r\n"
    b" .leading space\r\n"
    b"\r\n"
    b"8-bit: \xe9t\xe9 \xfc\xdf \xa0\xff\x80\r\n"
    + b"L" * 996 + b"\r\n"          # 998 octets with CRLF: RFC 5322 maximum
    + b"x" * 500 + b".\r\n"
    b"last line\r\n"
)


def check_stored(daemon, qid, original):
    stored = daemon.queue_cat(qid)
    assert stored.startswith(b"Received: "), stored[:200]
    assert stored.endswith(original), (
        f"stored message differs; tail {stored[-200:]!r} vs {original[-200:]!r}")
    prefix = stored[: len(stored) - len(original)]
    # What precedes the original is only our trace header (with folded lines).
    assert prefix.endswith(b"\r\n")
    for line in prefix[:-2].split(b"\r\n")[1:]:
        assert line[:1] in (b" ", b"\t"), f"unexpected header line before message: {line!r}"
    return stored


def send_raw(daemon, original, pieces=None, body8=True):
    """Send `original` via DATA with our own stuffing; returns the queue ID."""
    wire = dot_stuff(original) + b".\r\n"
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        opts = " BODY=8BITMIME" if body8 else ""
        c.expect(f"MAIL FROM:<dots@client.test>{opts}", 250)
        c.expect("RCPT TO:<r@local.test>", 250)
        c.expect("DATA", 354)
        if pieces is None:
            c.send(wire)
        else:
            for p in pieces(wire):
                c.send(p)
                time.sleep(0.002)  # encourage separate segments; bounded by the piece count
        code, text = c.reply()
        assert code == 250, text
        assert c.cmd("QUIT")[0] == 221
    return queue_id_of(text)


def test_raw_tricky_message_exact(daemon):
    qid = send_raw(daemon, TRICKY)
    check_stored(daemon, qid, TRICKY)


def _awkward_splits(wire):
    """Cut before every '.' and between every CR and LF."""
    cuts = sorted({i for i, b in enumerate(wire) if b == ord(".")}
                  | {i + 1 for i in range(len(wire) - 1) if wire[i:i + 2] == b"\r\n"})
    prev, out = 0, []
    for cut in cuts:
        if cut > prev:
            out.append(wire[prev:cut])
            prev = cut
    out.append(wire[prev:])
    return out[:400] + [b"".join(out[400:])] if len(out) > 400 else out


def test_raw_split_at_awkward_points(daemon):
    qid = send_raw(daemon, TRICKY, pieces=_awkward_splits)
    check_stored(daemon, qid, TRICKY)


def test_raw_byte_by_byte_end_of_data(daemon):
    """The terminating CRLF.CRLF arriving one byte per write."""
    original = b"Subject: slow end\r\n\r\nbody\r\n.\r\n"
    def pieces(wire):
        head, tail = wire[:-10], wire[-10:]
        return [head] + [tail[i:i + 1] for i in range(len(tail))]
    qid = send_raw(daemon, original, pieces=pieces, body8=False)
    check_stored(daemon, qid, original)


def test_long_line_in_body(daemon):
    """Lines longer than 998 octets are not ours to fix: stored as sent."""
    original = b"Subject: long\r\n\r\n" + b"y" * 8000 + b"\r\nend\r\n"
    qid = send_raw(daemon, original, body8=False)
    check_stored(daemon, qid, original)


def test_smtplib_tricky_message_exact(daemon):
    """smtplib does its own dot-stuffing; the result must be the same bytes."""
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        code, resp = s.mail("dots@client.test", ["BODY=8BITMIME"])
        assert code == 250, resp
        assert s.rcpt("r@local.test")[0] == 250
        code, resp = s.data(TRICKY)
        assert code == 250, resp
        qid = queue_id_of(resp)
    check_stored(daemon, qid, TRICKY)


def test_empty_body_and_size(daemon):
    """A header-only message; and queue list's size matches what is stored."""
    original = b"Subject: no body\r\n"
    qid = send_raw(daemon, original, body8=False)
    stored = check_stored(daemon, qid, original)
    [entry] = [m for m in daemon.queue_list_json() if m["id"] == qid]
    assert entry["size"] in (len(stored), len(original)), (entry["size"], len(stored))
