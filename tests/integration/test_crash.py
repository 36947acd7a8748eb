"""tests/integration/test_crash.py — a 250 is a promise that survives a crash.

ringmta answers "250 queued as ID" only after the message is durable. Here
sessions keep sending while the daemon is killed with SIGKILL right after the
N-th acknowledgement (others still in flight); after a restart every
acknowledged ID must be listed, with its envelope and its exact bytes.
Messages not yet acknowledged may or may not be there: both are correct.
The same holds across a clean SIGTERM restart, which must exit 0.
"""

import signal
import smtplib
import threading

from conftest import RawSmtp, make_message, queue_id_of, smtplib_send

SESSIONS = 4
TARGET = 200        # kill once this many messages are acknowledged
MAX_PER_SESSION = 150  # bound on each sender loop (4 x 150 > TARGET)


def _sender(port, n, acked, lock, reached, stop):
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
            s.ehlo(f"crash{n}.test")
            for i in range(MAX_PER_SESSION):
                if stop.is_set():
                    return
                msg = make_message(n * 10000 + i, body_lines=1 + (i % 40))
                rcpt = f"c{n}-{i}@local.test"
                qid = smtplib_send(s, f"s{n}@client.test", [rcpt], msg)
                with lock:
                    acked[qid] = (f"s{n}@client.test", rcpt, msg)
                    if len(acked) >= TARGET:
                        reached.set()
    except (OSError, smtplib.SMTPException, AssertionError):
        # Expected once the daemon is killed mid-transaction.
        return


def _check_all_present(daemon, acked):
    listed = {m["id"]: m for m in daemon.queue_list_json()}
    missing = [qid for qid in acked if qid not in listed]
    assert not missing, f"{len(missing)} acknowledged messages lost, e.g. {missing[:5]}"
    for qid, (sender, rcpt, msg) in acked.items():
        m = listed[qid]
        assert m["sender"] == sender, (qid, m)
        assert m["recipients"] == [rcpt], (qid, m)
        assert m["size"] >= len(msg), (qid, m["size"], len(msg))
    return listed


def _check_bytes(daemon, acked, listed, sample=40):
    for qid in sorted(acked)[:sample]:
        stored = daemon.queue_cat(qid)
        msg = acked[qid][2]
        assert stored.startswith(b"Received: ")
        assert stored.endswith(msg), qid
        assert listed[qid]["size"] in (len(stored), len(msg)), (qid, listed[qid]["size"])


def test_kill9_after_ack_loses_nothing(daemon):
    acked, lock = {}, threading.Lock()
    reached, stop = threading.Event(), threading.Event()
    threads = [threading.Thread(target=_sender, args=(daemon.port, n, acked, lock, reached, stop))
               for n in range(SESSIONS)]
    for t in threads:
        t.start()
    reached.wait(timeout=240)
    with lock:
        # Kill while holding the lock: no new acknowledgement can be recorded
        # before the process is gone, so `acked` is exactly what was promised.
        daemon.kill9()
        stop.set()
        promised = dict(acked)
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "sender threads hung after the kill"
    assert len(promised) >= TARGET, f"only {len(promised)} acknowledged before the kill"

    daemon.start()
    listed = _check_all_present(daemon, promised)
    _check_bytes(daemon, promised, listed)

    # The restarted daemon accepts new mail under a fresh ID.
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("after.test")
        qid = smtplib_send(s, "after@client.test", ["x@local.test"], make_message(99999))
    assert qid not in listed
    assert qid in daemon.queue_ids()


def test_kill9_on_idle_daemon_then_again(daemon):
    """Two crashes in a row: recovery itself must leave a recoverable queue."""
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        acked = {}
        for i in range(20):
            msg = make_message(i)
            qid = smtplib_send(s, "a@client.test", [f"b{i}@local.test"], msg)
            acked[qid] = ("a@client.test", f"b{i}@local.test", msg)
    daemon.kill9()
    daemon.start()
    daemon.kill9()
    daemon.start()
    listed = _check_all_present(daemon, acked)
    _check_bytes(daemon, acked, listed)


def test_sigterm_restart_keeps_queue(daemon):
    acked = {}
    with smtplib.SMTP("127.0.0.1", daemon.port, timeout=30) as s:
        s.ehlo("client.test")
        for i in range(50):
            msg = make_message(i, body_lines=i)
            qid = smtplib_send(s, "t@client.test", [f"t{i}@local.test"], msg)
            acked[qid] = ("t@client.test", f"t{i}@local.test", msg)
    daemon.stop()  # asserts exit code 0
    daemon.start()
    listed = _check_all_present(daemon, acked)
    assert set(listed) == set(acked)
    _check_bytes(daemon, acked, listed)
    daemon.stop()


def test_sigterm_lets_open_transaction_finish(daemon):
    """SIGTERM during DATA: the transaction completes with 250, then exit 0."""
    with RawSmtp(daemon.port) as c:
        c.greet_ehlo()
        c.expect("MAIL FROM:<late@client.test>", 250)
        c.expect("RCPT TO:<r@local.test>", 250)
        c.expect("DATA", 354)
        c.send(b"Subject: in flight\r\n\r\nfirst half\r\n")
        daemon.proc.send_signal(signal.SIGTERM)
        c.send(b"second half\r\n.\r\n")
        code, text = c.reply()
        assert code == 250, text
        qid = queue_id_of(text)
    rc = daemon.proc.wait(timeout=30)
    daemon._reap()
    assert rc == 0
    assert qid in daemon.queue_ids()
