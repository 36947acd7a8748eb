"""tests/integration/test_local_delivery.py — local delivery into mailboxes.

A real daemon with [mailbox] enabled, local domain local.test, a users file
(alice bare = alice@local.test, bob@local.test, tiny@local.test with a small
quota=) and an aliases file. Real clients (smtplib, swaks) send; the mail
store is read back with `ringmtactl mailbox list|show|cat` (a read-only
RocksDB instance of the daemon's database), byte-exact. External copies go
to the test recorder (aiosmtpd) as the relayhost. Covers: users, bare names,
user+tag, aliases (to users and outside), postmaster/abuse, 550 5.1.1 for an
unknown recipient, 452 4.2.2 over quota, one message to two local users and
one outside address (body stored once), the log line and the metric, and a
kill -9 during a stream of local deliveries (exactly once after restart).
"""

import json
import re
import smtplib
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import free_port, make_message, queue_id_of, ringmtactl_bin
from delivery_checks import delivery_lines, wait_for, wait_lines
from delivery_fixtures import Recorder

HASH = "$6$saltsalt$" + "x" * 86  # a crypt(3)-shaped hash: nobody logs in here
USERS = (f"alice:{HASH}\n"
         f"bob@local.test:{HASH}\n"
         f"tiny@local.test:{HASH}:quota=3000\n"
         f"relayonly@client.test:{HASH}\n")
ALIASES = ("# test aliases\n"
           "postmaster: alice\n"
           "abuse: postmaster\n"
           "team: alice, bob@local.test,\n"
           "    friend@elsewhere.example\n"
           "loop1: loop2\n"
           "loop2: loop1\n")
TIMEOUT = 30.0


@pytest.fixture
def recorder(tmp_path):
    port = free_port()
    r = Recorder(tmp_path, "127.0.0.1", port)
    yield r
    r.stop()


@pytest.fixture
def local_daemon(daemon_factory, tmp_path, recorder):
    def make(quota="1G", metrics=False):
        users = tmp_path / "users"
        users.write_text(USERS)
        aliases = tmp_path / "aliases"
        aliases.write_text(ALIASES)
        settings = {
            "relay": {"aliases_file": str(aliases)},
            "auth": {"users_file": str(users)},
            "mailbox": {"enabled": True, "quota": quota},
            "delivery": {"relayhost": f"[127.0.0.1]:{recorder.port}", "connect_timeout": "2s",
                         "connection_idle_timeout": "1s"},
        }
        if not metrics:
            settings["metrics"] = {"listen": ""}
        return daemon_factory(settings)
    return make


def ctl(d, *args, check=True):
    cp = subprocess.run([str(ringmtactl_bin()), "--data-dir", str(d.data_dir), *args],
                        capture_output=True, timeout=60)
    if check:
        assert cp.returncode == 0, (args, cp.stderr.decode(errors="replace"))
    return cp


def mailbox(d, user):
    """[message dict] of the user's INBOX (uid order), or [] if the user has none."""
    cp = ctl(d, "mailbox", "show", user, "--json", check=False)
    if cp.returncode != 0:
        return []
    boxes = json.loads(cp.stdout)["mailboxes"]
    inbox = [b for b in boxes if b["name"] == "INBOX"]
    return inbox[0]["list"] if inbox else []


def body(d, user, uid):
    return ctl(d, "mailbox", "cat", user, str(uid)).stdout


def users_list(d):
    lines = ctl(d, "mailbox", "list", "--json").stdout.decode().splitlines()
    return {u["user"]: u for u in map(json.loads, lines)}


def send(d, rcpts, message, sender="sender@client.test", mail_options=()):
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        code, resp = s.mail(sender, list(mail_options))
        assert code == 250, resp
        for r in rcpts:
            code, resp = s.rcpt(r)
            assert code == 250, (r, code, resp)
        code, resp = s.data(message)
        assert code == 250, resp
        return queue_id_of(resp)


def stored_as_sent(stored, sent):
    """The store keeps our Received: field followed by the client's bytes."""
    return stored.startswith(b"Received: ") and stored.endswith(sent) and \
        stored[:-len(sent)].count(b"\r\n") >= 1 and stored[:-len(sent)].endswith(b"\r\n")


def test_users_tags_and_aliases_are_delivered_byte_exact(local_daemon):
    d = local_daemon()
    assert "reaches nobody" not in d.log()  # postmaster and abuse are aliased
    msgs = {}
    for i, rcpt in enumerate(["alice@local.test", "Alice+News@LOCAL.test", "bob@local.test", "postmaster@local.test",
                              "abuse@local.test"]):
        msgs[rcpt] = make_message(i, body_lines=3 + i)
        qid = send(d, [rcpt], msgs[rcpt])
        [line] = wait_lines(d, 1, qid=qid)
        assert line["status"] == "sent" and line["relay"] == "local", line["line"]
        assert line["reply"] == "delivered to mailbox" and line["dsn"] == "2.0.0", line["line"]
    alice = wait_for(lambda: (lambda m: m if len(m) == 4 else None)(mailbox(d, "alice@local.test")), TIMEOUT,
                     "4 messages for alice", d)
    bob = mailbox(d, "bob@local.test")
    assert [m["uid"] for m in alice] == [1, 2, 3, 4]
    assert len(bob) == 1
    order = ["alice@local.test", "Alice+News@LOCAL.test", "postmaster@local.test", "abuse@local.test"]
    for m, rcpt in zip(alice, order):
        stored = body(d, "alice@local.test", m["uid"])
        assert stored_as_sent(stored, msgs[rcpt]), (rcpt, stored[:200])
        assert m["size"] == len(stored)
    assert stored_as_sent(body(d, "bob@local.test", 1), msgs["bob@local.test"])
    # The log names the address as queued: the user (the +tag and the alias
    # were resolved at RCPT; the original is the ORCPT).
    assert not [l for l in delivery_lines(d) if l["rcpt"].lower() != l["rcpt"] or "+" in l["rcpt"]]
    listed = users_list(d)
    assert listed["alice@local.test"]["messages"] == 4
    assert listed["bob@local.test"]["messages"] == 1
    assert listed["alice@local.test"]["bytes"] == sum(m["size"] for m in alice)


def test_swaks_to_a_bare_user_name(local_daemon):
    d = local_daemon()
    cp = subprocess.run(["swaks", "--server", f"127.0.0.1:{d.port}", "--from", "s@client.test",
                         "--to", "alice@local.test", "--helo", "client.test", "--body", "hello from swaks",
                         "--timeout", "20"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    qid = queue_id_of(cp.stdout)
    wait_lines(d, 1, qid=qid, status="sent")
    [m] = mailbox(d, "alice@local.test")
    assert b"hello from swaks" in body(d, "alice@local.test", m["uid"])


def test_unknown_recipients_and_loops_are_refused_at_rcpt(local_daemon):
    d = local_daemon()
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("sender@client.test")[0] == 250
        code, resp = s.rcpt("nobody@local.test")
        assert (code, resp[:5]) == (550, b"5.1.1"), resp
        # A user of another domain logs in but has no mailbox here.
        code, resp = s.rcpt("relayonly@local.test")
        assert code == 550, resp
        code, resp = s.rcpt("loop1@local.test")  # a loop reaches nobody
        assert code == 550, resp
        # Outside domains are relayed as before (trusted client).
        assert s.rcpt("someone@elsewhere.example")[0] == 250
        assert s.rcpt("alice@local.test")[0] == 250
        code, resp = s.data(make_message(1))
        assert code == 250
    assert not delivery_lines(d, rcpt="nobody@local.test")  # refused, never queued: no bounce later


def test_over_quota_gets_452_at_rcpt(local_daemon, tmp_path):
    d = local_daemon()
    big = make_message(7, body_lines=80)  # about 2300 bytes with our Received: field
    # Under quota (3000) with no SIZE: accepted, and it fills most of the mailbox.
    qid = send(d, ["tiny@local.test"], big)
    wait_lines(d, 1, qid=qid, status="sent")
    used = wait_for(lambda: users_list(d).get("tiny@local.test"), TIMEOUT, "tiny's first message", d)["bytes"]
    assert 2000 < used < 3000, used
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        # SIZE= that does not fit the rest of the quota: refused, temporarily.
        assert s.mail("sender@client.test", [f"SIZE={3000 - used + 1}"])[0] == 250
        code, resp = s.rcpt("tiny@local.test")
        assert (code, resp[:5]) == (452, b"4.2.2"), resp
        assert s.rcpt("alice@local.test")[0] == 250  # other users are not affected
        assert s.rset()[0] == 250
        # SIZE= that fits: accepted.
        assert s.mail("sender@client.test", [f"SIZE={3000 - used - 10}"])[0] == 250
        assert s.rcpt("tiny@local.test")[0] == 250
        assert s.rset()[0] == 250
    # Without SIZE= a user under quota is accepted; a message that does not
    # fit is then deferred at delivery (4.2.2), never half stored.
    qid2 = send(d, ["tiny@local.test"], make_message(8, body_lines=40))
    [line] = wait_lines(d, 1, qid=qid2)
    assert line["status"] == "deferred" and line["dsn"] == "4.2.2", line["line"]
    assert len(mailbox(d, "tiny@local.test")) == 1
    # The users file's quota is re-read: at 1000 bytes tiny is over it, and
    # without SIZE= gets 452 too.
    (tmp_path / "users").write_text(USERS.replace("quota=3000", "quota=1000"))
    wait_for(lambda: "re-read" in d.log(), TIMEOUT, "the users file re-read", d)
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("sender@client.test")[0] == 250
        code, resp = s.rcpt("tiny@local.test")
        assert (code, resp[:5]) == (452, b"4.2.2"), resp


def test_two_local_users_and_one_outside_in_one_message(local_daemon, recorder):
    d = local_daemon(metrics=True)
    msg = make_message(42, body_lines=20)
    qid = send(d, ["alice@local.test", "team@local.test"], msg)  # team = alice, bob, friend@elsewhere
    lines = wait_lines(d, 3, qid=qid)
    by_rcpt = {l["rcpt"]: l for l in lines}
    assert set(by_rcpt) == {"alice@local.test", "bob@local.test", "friend@elsewhere.example"}
    assert all(l["status"] == "sent" for l in lines), [l["line"] for l in lines]
    assert by_rcpt["alice@local.test"]["relay"] == "local" and by_rcpt["bob@local.test"]["relay"] == "local"
    assert by_rcpt["friend@elsewhere.example"]["relay"] != "local"
    # alice once, though named directly and through the alias.
    [a] = mailbox(d, "alice@local.test")
    [b] = mailbox(d, "bob@local.test")
    assert a["body_id"] == b["body_id"] == qid  # one body for both users
    stored = body(d, "alice@local.test", a["uid"])
    assert stored == body(d, "bob@local.test", b["uid"])
    assert stored_as_sent(stored, msg)
    [out] = wait_for(lambda: recorder.messages(), TIMEOUT, "the outside copy", d)
    assert out["rcpt_tos"] == ["friend@elsewhere.example"]
    assert out["mail_from"] == "sender@client.test"  # the envelope sender is kept
    assert out["data"] == stored  # the same stored bytes go out
    metrics = urllib.request.urlopen(f"http://{d.settings['metrics']['listen']}/metrics", timeout=10).read().decode()
    m = re.search(r"^ringmta_local_deliveries_total (\S+)$", metrics, re.M)
    assert m and float(m.group(1)) == 2.0, [l for l in metrics.splitlines() if "local" in l]


def test_kill9_during_local_deliveries_then_each_exactly_once(local_daemon):
    d = local_daemon()
    accepted = []  # queue IDs that got their 250
    stop = threading.Event()
    lock = threading.Lock()

    def sender(k):
        n = 0
        while not stop.is_set() and n < 400:
            n += 1
            try:
                with smtplib.SMTP("127.0.0.1", d.port, timeout=10) as s:
                    s.ehlo("client.test")
                    for _ in range(10):
                        if stop.is_set():
                            return
                        code, _ = s.mail("s@client.test")
                        if code != 250:
                            return
                        if s.rcpt("alice@local.test")[0] != 250 or s.rcpt("bob@local.test")[0] != 250:
                            return
                        code, resp = s.data(make_message(k * 100000 + n, body_lines=4))
                        if code == 250:
                            with lock:
                                accepted.append(queue_id_of(resp))
            except (OSError, smtplib.SMTPException):
                return  # the daemon died under us

    threads = [threading.Thread(target=sender, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    wait_for(lambda: len(delivery_lines(d, status="sent")) >= 60, 60, "60 local deliveries", d)
    d.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert accepted, "nothing was accepted before the kill"
    d.start()
    want = set(accepted)

    def complete():
        a = [m["body_id"] for m in mailbox(d, "alice@local.test")]
        b = [m["body_id"] for m in mailbox(d, "bob@local.test")]
        return (a, b) if want <= set(a) and want <= set(b) else None

    a, b = wait_for(complete, 60, "every accepted message in both mailboxes", d)
    # Exactly once: no body id twice in a mailbox (a message whose 250 was
    # lost to the kill may be there too, once).
    assert len(a) == len(set(a)), "a message was delivered twice to alice"
    assert len(b) == len(set(b)), "a message was delivered twice to bob"
    wait_for(lambda: not d.queue_ids(), 60, "an empty queue", d)
    print(f"{len(accepted)} accepted before the kill; alice has {len(a)}, bob {len(b)}")


def test_local_mail_is_delivered_while_the_relayhost_is_down(daemon_factory, tmp_path):
    # Everything outside goes to a dead relayhost: after its first refusal it
    # is "down" (delivery.destination_down_time) and new mail for it is
    # deferred at acceptance — but mailboxes here are not behind it.
    users = tmp_path / "users"
    users.write_text(USERS)
    d = daemon_factory({"auth": {"users_file": str(users)}, "mailbox": {"enabled": True},
                        "metrics": {"listen": ""}})
    # No aliases file: the role addresses reach nobody, and the start says so.
    assert "local delivery: postmaster@local.test reaches nobody" in d.log()
    assert "local delivery: abuse@local.test reaches nobody" in d.log()
    out = send(d, ["friend@elsewhere.example"], make_message(1))
    [line] = wait_lines(d, 1, qid=out)
    assert line["status"] == "deferred", line["line"]
    qid = send(d, ["alice@local.test"], make_message(2))
    [line] = wait_lines(d, 1, qid=qid)
    assert line["status"] == "sent" and line["relay"] == "local", line["line"]
    assert [m["body_id"] for m in mailbox(d, "alice@local.test")] == [qid]


def test_notify_success_gets_a_delivered_dsn(local_daemon):
    # RFC 3461 6.2.2: final delivery with NOTIFY=SUCCESS reports "delivered";
    # the sender is local here, so the report lands in bob's mailbox.
    d = local_daemon()
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("bob@local.test", ["RET=HDRS", "ENVID=env-1"])[0] == 250
        assert s.rcpt("alice+x@local.test", ["NOTIFY=SUCCESS"])[0] == 250
        code, resp = s.data(make_message(5))
        assert code == 250
    qid = queue_id_of(resp)
    wait_lines(d, 1, qid=qid, status="sent")
    [report] = wait_for(lambda: mailbox(d, "bob@local.test"), TIMEOUT, "the delivery report for bob", d)
    dsn = body(d, "bob@local.test", report["uid"])
    assert b"Action: delivered" in dsn, dsn
    assert b"Final-Recipient: rfc822; alice@local.test" in dsn, dsn
    assert b"Original-Recipient: rfc822; alice+x@local.test" in dsn, dsn
    assert b"Original-Envelope-Id: env-1" in dsn, dsn
    assert [m["body_id"] for m in mailbox(d, "alice@local.test")] == [qid]


def test_aliases_file_is_re_read_while_running(local_daemon, tmp_path):
    d = local_daemon()
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        assert s.mail("sender@client.test")[0] == 250
        assert s.rcpt("sales@local.test")[0] == 550
    (tmp_path / "aliases").write_text(ALIASES + "sales: bob@local.test\n")
    wait_for(lambda: "re-read" in d.log(), TIMEOUT, "the aliases file re-read", d)
    qid = send(d, ["Sales+Q4@local.test"], make_message(9))
    [line] = wait_lines(d, 1, qid=qid)
    assert line["rcpt"] == "bob@local.test" and line["status"] == "sent", line["line"]
    assert [m["body_id"] for m in mailbox(d, "bob@local.test")] == [qid]
