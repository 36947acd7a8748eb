"""tests/integration/test_delivery_chunking.py — onward delivery by BDAT (RFC 3030).

ringmta sends a message with "BDAT <size> LAST" when the receiving server
offers CHUNKING (delivery.chunking, default on). Checked with real servers on
loopback: a second ringmta as the next hop (its SMTP server takes BDAT and
stores the bytes verbatim, so its queue shows exactly what arrived), and
`ringmta-bench sink`, whose --record says whether a message came by BDAT or
DATA — with CHUNKING offered (in clear text and inside STARTTLS), not
offered, and turned off in ringmta — and Postfix's smtpd (a private
instance), whose log shows the BDAT commands it got.
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import free_port, port_open
from delivery_checks import send, wait_for, wait_lines
from test_bench_tools import Sink
from test_tls import make_cert

TIMEOUT = 20.0
POSTFIX, POSTCONF = "/usr/sbin/postfix", "/usr/sbin/postconf"

# Dots at line starts (which DATA would stuff and BDAT must not), a line that
# is only ".", an empty line, 8-bit text and a long line.
TRICKY = (b"From: a@client.test\r\nTo: r@dest.test\r\nSubject: bdat relay\r\n\r\n"
          b".leading dot\r\n.\r\n..two dots\r\n\r\ncaf\xc3\xa9 8-bit\r\n" + b"x" * 3000 + b"\r\nend\r\n")


def relay_to(daemon_factory, port, limits=None, **delivery):
    return daemon_factory({"delivery": {"relayhost": f"[127.0.0.1]:{port}", "connect_timeout": "2s",
                                        "connection_idle_timeout": "1s", **delivery},
                           "limits": limits or {}, "metrics": {"listen": ""}})


def test_bdat_to_ringmta_is_byte_exact(daemon_factory):
    # The next hop keeps what it gets (its own relayhost is a dead port).
    # Its own host name: a next hop greeting with ours would be a mail loop.
    hop = daemon_factory({"metrics": {"listen": ""}, "server": {"hostname": "hop.test.example"}}, name="hop")
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


def test_big_message_by_bdat_goes_out_in_pieces(daemon_factory):
    # 3 MB: the client hands the body out 64 KiB at a time behind one BDAT.
    big = {"max_message_size": 4_000_000}
    hop = daemon_factory({"metrics": {"listen": ""}, "limits": big, "server": {"hostname": "hop.test.example"}},
                         name="hop")
    first = relay_to(daemon_factory, hop.port, limits=big)
    body = b"".join(b".%06d " % i + b"z" * (i % 200) + b"\r\n" for i in range(30000))
    message = b"Subject: big\r\n\r\n" + body
    assert len(message) > 3_000_000
    qid = send(first, "a@client.test", ["r@dest.test"], message)
    [line] = wait_lines(first, 1, timeout=TIMEOUT, qid=qid)
    assert line["status"] == "sent", line["line"]
    ids = wait_for(lambda: hop.queue_ids(), TIMEOUT, "the message at the next hop", hop)
    assert hop.queue_cat(ids[0]).endswith(message)


def test_sink_sees_bdat_or_data_as_offered(daemon_factory, tmp_path):
    cert, key = make_cert(tmp_path, "sink", "sink.test")
    cases = [("offered", [], {}, True),
             ("not offered", ["--no-chunking"], {}, False),
             ("turned off", [], {"chunking": False}, False),
             ("turned off for this host", [], {"no_chunking_hosts": ["127.0.0.1"]}, False),
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


def test_bdat_to_postfix_smtpd(daemon_factory, tmp_path):
    """Interop with a third-party BDAT server: Postfix's smtpd offers CHUNKING
    by default. A private Postfix instance (its own config and queue, on
    loopback) relays to the sink; with debug_peer_list its log shows each
    command it received."""
    if not (os.path.exists(POSTFIX) and os.geteuid() == 0):
        pytest.skip("needs Postfix (apt-get install postfix) and root for a private instance")
    port = free_port()
    sink = Sink(tmp_path)
    # Postfix's daemons run as the postfix user, who cannot enter pytest's
    # 0700 tmp_path: the instance lives in a directory of its own.
    d = Path(tempfile.mkdtemp(prefix="ringmta-postfix-"))
    os.chmod(d, 0o755)
    for sub in ("etc", "spool", "data"):
        (d / sub).mkdir()
    shutil.chown(d / "data", "postfix")
    shutil.copy("/etc/postfix/master.cf", d / "etc/master.cf")
    (d / "etc/main.cf").write_text("")
    etc = str(d / "etc")
    settings = ["compatibility_level=3.6", f"queue_directory={d}/spool", f"data_directory={d}/data",
                "inet_interfaces=127.0.0.1", "inet_protocols=ipv4", "myhostname=postfix.test",
                "mydestination=", "mynetworks=127.0.0.0/8", f"relayhost=[127.0.0.1]:{sink.port}",
                "smtpd_relay_restrictions=permit_mynetworks,reject", "alias_maps=", "alias_database=",
                "local_recipient_maps=", "syslog_name=postfix-ringmta-test",
                f"maillog_file_prefixes={d}", f"maillog_file={d}/maillog",
                "debug_peer_list=127.0.0.1", "debug_peer_level=1"]
    subprocess.run([POSTCONF, "-c", etc, "-e", *settings], check=True)
    subprocess.run([POSTCONF, "-c", etc, "-F", "*/*/chroot = n"], check=True)
    subprocess.run([POSTCONF, "-c", etc, "-M#", "smtp/inet"], check=True)
    subprocess.run([POSTCONF, "-c", etc, "-Me", f"{port}/inet = {port} inet n - n - - smtpd"], check=True)
    started = subprocess.run([POSTFIX, "-c", etc, "start"], capture_output=True, timeout=60)
    try:
        assert started.returncode == 0, (started.stdout, started.stderr)
        wait_for(lambda: port_open(port), TIMEOUT, "Postfix's smtpd to listen")
        first = relay_to(daemon_factory, port)
        for i in range(10):
            send(first, "a@client.test", [f"r{i}@dest.test"], TRICKY)
        wait_lines(first, 10, timeout=TIMEOUT, status="sent")
        wait_for(lambda: len(sink.records()) >= 10 if sink.record.exists() else False, TIMEOUT,
                 "10 messages through Postfix at the sink")
        log = (d / "maillog").read_text(errors="replace")
        # smtpd's lines only ("<" = what it received); Postfix's own smtp
        # client, relaying to the sink, is in the same log.
        bdat = re.findall(r"/smtpd\[\d+\]: < \S+: BDAT (\d+) LAST$", log, flags=re.M)
        data = re.findall(r"/smtpd\[\d+\]: < \S+: DATA$", log, flags=re.M)
        assert len(bdat) == 10 and not data, log[-3000:]
        # Postfix relayed each one by DATA (its client has no BDAT); the sink
        # counts the dot-stuffed bytes: more than ringmta's BDAT size.
        assert all(not r["bdat"] and r["reply"] == 250 for r in sink.records())
        assert min(r["size"] for r in sink.records()) > int(bdat[0])
    finally:
        subprocess.run([POSTFIX, "-c", etc, "stop"], capture_output=True, timeout=60)
        sink.kill()
        shutil.rmtree(d, ignore_errors=True)
