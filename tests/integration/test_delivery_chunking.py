"""tests/integration/test_delivery_chunking.py — onward delivery by BDAT (RFC 3030).

ringmta sends a message with "BDAT <size> LAST" when the receiving server
offers CHUNKING (delivery.chunking, default on). Checked with real servers on
loopback: a second ringmta as the next hop (its SMTP server takes BDAT and
stores the bytes verbatim, so its queue shows exactly what arrived), and
`ringmta-bench sink`, whose --record says whether a message came by BDAT or
DATA — with CHUNKING offered (in clear text and inside STARTTLS), not
offered, and turned off in ringmta.
"""

from delivery_checks import send, wait_for, wait_lines
from test_bench_tools import Sink
from test_tls import make_cert

TIMEOUT = 20.0

# Dots at line starts (which DATA would stuff and BDAT must not), a line that
# is only ".", an empty line, 8-bit text and a long line.
TRICKY = (b"From: a@client.test\r\nTo: r@dest.test\r\nSubject: bdat relay\r\n\r\n"
          b".leading dot\r\n.\r\n..two dots\r\n\r\ncaf\xc3\xa9 8-bit\r\n" + b"x" * 3000 + b"\r\nend\r\n")


def relay_to(daemon_factory, port, **delivery):
    return daemon_factory({"delivery": {"relayhost": f"[127.0.0.1]:{port}", "connect_timeout": "2s",
                                        "connection_idle_timeout": "1s", **delivery},
                           "metrics": {"listen": ""}})


def test_bdat_to_ringmta_is_byte_exact(daemon_factory):
    # The next hop keeps what it gets (its own relayhost is a dead port).
    hop = daemon_factory({"metrics": {"listen": ""}}, name="hop")
    first = relay_to(daemon_factory, hop.port)
    qid = send(first, "a@client.test", ["r@dest.test"], TRICKY)
    [line] = wait_lines(first, 1, qid=qid)
    assert line["status"] == "sent", line["line"]
    ids = wait_for(lambda: hop.queue_ids(), TIMEOUT, "the message at the next hop", hop)
    stored = hop.queue_cat(ids[0])
    # The hop's Received line, then the first daemon's, then the message as sent.
    assert stored.endswith(TRICKY), stored[-200:]
    head = stored[:-len(TRICKY)]
    assert head.count(b"Received: ") == 2, head
    assert b"by mx.test.example" in head
    # The first daemon's log names the hop's queue ID from the reply to BDAT.
    assert ids[0] in line["line"], line["line"]


def test_sink_sees_bdat_or_data_as_offered(daemon_factory, tmp_path):
    cert, key = make_cert(tmp_path, "sink", "sink.test")
    cases = [("offered", [], {}, True),
             ("not offered", ["--no-chunking"], {}, False),
             ("turned off", [], {"chunking": False}, False),
             ("offered, over STARTTLS", ["--tls", f"{cert},{key}"], {}, True)]
    for what, sink_args, delivery, want_bdat in cases:
        sink = Sink(tmp_path, *sink_args)
        try:
            d = relay_to(daemon_factory, sink.port, **delivery)
            for i in range(3):
                send(d, "a@client.test", [f"r{i}@dest.test"], TRICKY)
            wait_lines(d, 3, timeout=TIMEOUT, status="sent")
            sink.stop()
            records = sink.records()
            assert len(records) == 3, (what, records)
            assert {r["bdat"] for r in records} == {want_bdat}, (what, records)
            assert {r["reply"] for r in records} == {250}, (what, records)
            assert {r["tls"] for r in records} == {"--tls" in sink_args}, (what, records)
            # BDAT carries the stored bytes as they are; DATA adds one dot per
            # line that starts with one (three lines in TRICKY).
            sizes = {r["size"] for r in records}
            assert len(sizes) == 1, (what, sizes)
            d.stop()
        finally:
            sink.kill()
        if want_bdat:
            bdat_size = sizes.pop()
        else:
            assert sizes.pop() == bdat_size + 3, what
