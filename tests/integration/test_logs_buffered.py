"""tests/integration/test_logs_buffered.py — the default log.buffered = true.

The other integration tests run unbuffered (conftest) because they read the
log right after a reply. Here the daemon runs as shipped: lines are written in
batches by the writer thread. Every accepted message's line must still arrive
(a little later), in order, and shutdown must write what is left — the final
"stopped:" line is logged after the shards are gone.
"""

import re
import smtplib

from conftest import make_message, smtplib_send
from delivery_checks import wait_for

MESSAGES = 40


def accept_lines(d):
    # "<qid>: accepted client=..., from=<...>, size=..., nrcpt=..."
    return [l for l in d.log().splitlines() if "from=<" in l and "size=" in l]


def test_buffered_lines_arrive_in_order_and_shutdown_writes_the_rest(daemon_factory):
    d = daemon_factory({"log": {"buffered": True}})
    qids = []
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        for i in range(MESSAGES):
            qids.append(smtplib_send(s, f"s{i}@client.test", ["rcpt@local.test"], make_message(i)))
    # Each accepted message is logged; batching may delay a line, never lose it.
    wait_for(lambda: len(accept_lines(d)) >= MESSAGES, 10, f"{MESSAGES} accept lines", d)
    logged = []
    for line in accept_lines(d):
        m = re.search(r"\b([0-9A-Z]{16}): ", line)
        assert m, line
        logged.append(m.group(1))
    assert logged == qids  # the order they were accepted in
    d.stop()
    tail = d.log().splitlines()
    assert any("stopped:" in l and f"{MESSAGES} message(s) accepted" in l for l in tail[-5:]), tail[-5:]
