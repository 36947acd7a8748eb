"""tests/integration/test_smtp_bulk.py — many sessions at once.

1,000 messages over 20 concurrent smtplib sessions (50 messages each, one
connection per session) exercise the shards, the group commit and queue-ID
uniqueness together. Every message must get its own 250 with a distinct ID
and the queue must then hold exactly those IDs: no loss, no duplicates.
Correctness only — throughput is measured in bench/, not here.
"""

import smtplib
import threading

from conftest import make_message, smtplib_send

SESSIONS = 20
PER_SESSION = 50


def _session(port, n, results, errors):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=60) as s:
            s.ehlo(f"client{n}.test")
            for i in range(PER_SESSION):
                msg = make_message(n * 1000 + i, body_lines=20)
                qid = smtplib_send(s, f"s{n}@client.test", [f"r{n}-{i}@local.test"], msg)
                results.append((qid, n, i))
    except Exception as e:  # reported by the main thread
        errors.append(f"session {n}: {e!r}")


def test_thousand_messages_twenty_sessions(daemon):
    results, errors = [], []
    threads = [threading.Thread(target=_session, args=(daemon.port, n, results, errors))
               for n in range(SESSIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "sessions hung"
    assert not errors, errors[:5]
    assert len(results) == SESSIONS * PER_SESSION

    ids = [r[0] for r in results]
    assert len(set(ids)) == len(ids), "duplicate queue IDs handed out"

    listed = daemon.queue_list_json()
    listed_ids = [m["id"] for m in listed]
    assert len(listed_ids) == len(set(listed_ids)), "queue lists an ID twice"
    assert set(listed_ids) == set(ids), (
        f"missing {len(set(ids) - set(listed_ids))}, extra {len(set(listed_ids) - set(ids))}")

    # Each envelope went to the message its 250 was for.
    by_id = {m["id"]: m for m in listed}
    for qid, n, i in results:
        assert by_id[qid]["sender"] == f"s{n}@client.test"
        assert by_id[qid]["recipients"] == [f"r{n}-{i}@local.test"]
