"""tests/integration/test_admin.py — queue administration against a running daemon.

`ringmtactl` talks to the daemon's admin API (a Unix socket admin.sock in the
data dir, or loopback TCP with a token). The daemon delivers to real SMTP
servers on loopback found through dnsmasq (delivery_fixtures.py); "remote
down" means nothing listens on the MX address yet, so the first attempt is
deferred and, with queue.retry_schedule = ["1h"], the next retry is far away —
so a delivery seen afterwards can only come from the admin command under test.
Checked: summary, list with filters, show, flush, hold/release, delete,
bounce (a DSN at the sender's domain), destination suspend/resume, reload,
a token-protected TCP endpoint, and clear errors (exit codes 1/2) for bad input
and for changes while the daemon is stopped.
"""

import json
import os
import subprocess
import time

from conftest import free_port, ringmtactl_bin
from delivery_checks import (
    SENDER, delivery_lines, message_with, notifications, queue_empty, removed, reports, send,
    wait_for, wait_lines)
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    BOUNCE_IP, dns_zone, mx_port, relay, remote)

TIMEOUT = 20.0
QUIET = 2.0      # how long "nothing happens" is watched
FAR = {"retry_schedule": ["1h"]}


def ctl(d, *args, check=True):
    cp = d.ctl(*args, check=False)
    out, err = cp.stdout.decode(errors="replace"), cp.stderr.decode(errors="replace")
    if check:
        assert cp.returncode == 0, f"ringmtactl {' '.join(args)} -> {cp.returncode}: {err}"
    return cp.returncode, out, err


def ctl_json(d, *args):
    _, out, _ = ctl(d, *args, "--json")
    return json.loads(out)


def deferred_message(d, rcpt, sender=SENDER, subject="admin"):
    """Send one message whose remote is down; return its ID once deferred."""
    qid = send(d, sender, [rcpt], message_with(subject))
    wait_lines(d, 1, qid=qid, status="deferred")
    return qid


def show(d, qid):
    return ctl_json(d, "queue", "show", qid)


def list_ids(d, *filters):
    _, out, _ = ctl(d, "queue", "list", *filters, "--json")
    return sorted(json.loads(line)["id"] for line in out.splitlines() if line.strip())


def test_summary_list_show_and_filters(relay):
    d = relay(queue=FAR)
    m1 = deferred_message(d, "a@dest.test", subject="first")
    m2 = deferred_message(d, "b@implicit.test", sender="bob@sender.test", subject="second")

    summary = ctl_json(d, "queue", "summary")
    assert summary["ok"] and summary["total"] == 2, summary
    rows = {r["domain"]: r for r in summary["destinations"]}
    assert set(rows) == {"dest.test", "implicit.test"}, rows
    assert rows["dest.test"]["messages"] == 1 and rows["dest.test"]["deferred"] == 1
    assert rows["dest.test"]["last_error"], rows["dest.test"]
    assert 0 <= rows["dest.test"]["oldest_age_seconds"] < 120
    _, text, _ = ctl(d, "queue", "summary")
    assert text.splitlines()[0].split()[:3] == ["DOMAIN", "MESSAGES", "RCPTS"], text
    assert any(line.startswith("dest.test ") for line in text.splitlines()), text

    assert list_ids(d) == sorted([m1, m2])
    assert list_ids(d, "--domain", "dest.test") == [m1]
    assert list_ids(d, "--domain", "DEST.test") == [m1]
    assert list_ids(d, "--sender", "bob@sender.test") == [m2]
    assert list_ids(d, "--sender", "@sender.test") == sorted([m1, m2])
    assert list_ids(d, "--state", "deferred") == sorted([m1, m2])
    assert list_ids(d, "--state", "held") == []
    assert list_ids(d, "--domain", "dest.test", "--sender", "bob@sender.test") == []
    # The text format of `queue list` is unchanged: ID first, <sender>, <recipients>.
    _, text, _ = ctl(d, "queue", "list", "--domain", "dest.test")
    assert text.split()[0] == m1 and f"<{SENDER}> <a@dest.test>" in text, text
    entry = json.loads(ctl(d, "queue", "list", "--json", "--domain", "dest.test")[1])
    assert {"id", "sender", "recipients", "size", "arrival", "arrival_unix", "state"} <= set(entry), entry

    m = show(d, m1)
    assert m["id"] == m1 and m["sender"] == SENDER and m["state"] == "deferred", m
    [r] = m["recipient_states"]
    assert r["address"] == "a@dest.test" and r["state"] == "pending" and r["attempts"] == 1, r
    assert r["last_reply"] and r["next_attempt"], r
    # retry_schedule 1h: the next attempt is far away.
    assert r["next_attempt_ms"] > time.time() * 1000 + 30 * 60 * 1000, r
    assert "Subject: first" in m["headers"], m["headers"]
    _, text, _ = ctl(d, "queue", "show", m1)
    assert "attempts=1" in text and "last reply:" in text and "Subject: first" in text, text


def test_flush_makes_a_deferred_message_go_now(relay, remote):
    d = relay(queue=FAR)
    qid = deferred_message(d, "later@dest.test")
    mx = remote("127.0.0.2")                      # the remote is back
    time.sleep(QUIET)
    assert mx.delivered_rcpts() == [], "nothing may go before the flush (next retry in 1h)"
    assert qid in d.queue_ids()
    _, out, _ = ctl(d, "queue", "flush", qid)
    assert f"{qid}: flush done" in out, out
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "delivery after the flush", d)
    assert mx.delivered_rcpts() == ["later@dest.test"]
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)
    assert wait_lines(d, 1, qid=qid, status="sent")


def test_flush_by_domain_touches_only_that_domain(relay, remote):
    d = relay(queue=FAR)
    a = deferred_message(d, "x@dest.test")
    b = deferred_message(d, "y@implicit.test")
    mx2 = remote("127.0.0.2")
    mx4 = remote("127.0.0.4")
    _, out, _ = ctl(d, "queue", "flush", "--domain", "dest.test")
    assert "1 matched" in out, out
    wait_for(lambda: mx2.delivered_rcpts(), TIMEOUT, "dest.test delivered", d)
    wait_for(lambda: a not in d.queue_ids(), TIMEOUT, "the flushed message gone", d)
    time.sleep(QUIET)
    assert mx4.delivered_rcpts() == [], "implicit.test was not flushed"
    assert d.queue_ids() == [b]


def test_hold_and_release(relay, remote):
    # Short retries: a held message would be retried (and delivered) within
    # QUIET if holding did not keep the loader and scheduler away from it.
    d = relay(queue={"retry_schedule": ["1s"]})
    qid = deferred_message(d, "held@dest.test")
    _, out, _ = ctl(d, "queue", "hold", qid)
    assert f"{qid}: hold done" in out, out
    assert show(d, qid)["state"] == "held"
    assert list_ids(d, "--state", "held") == [qid]
    code, out, _ = ctl(d, "queue", "hold", qid)
    assert code == 0 and "unchanged (already held)" in out, out
    mx = remote("127.0.0.2")
    time.sleep(QUIET + 1)
    assert mx.delivered_rcpts() == [], "a held message must not be delivered"
    code, out, _ = ctl(d, "queue", "flush", qid)
    assert code == 0 and "unchanged (held (release it first))" in out, out
    assert qid in d.queue_ids()
    _, out, _ = ctl(d, "queue", "release", qid)
    assert f"{qid}: release done" in out, out
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "delivery after the release", d)
    assert mx.delivered_rcpts() == ["held@dest.test"]
    wait_for(lambda: queue_empty(d), TIMEOUT, "an empty queue", d)


def test_delete_removes_without_notice(relay, remote):
    bounces = remote(BOUNCE_IP)
    d = relay(queue=FAR)
    keep = deferred_message(d, "keep@implicit.test")
    gone = deferred_message(d, "gone@dest.test")
    _, out, _ = ctl(d, "queue", "delete", "--domain", "dest.test")
    assert f"{gone}: delete done" in out, out
    wait_for(lambda: removed(d, gone), TIMEOUT, "the removed line", d)
    assert d.queue_ids() == [keep]
    code, _, err = ctl(d, "queue", "show", gone, check=False)
    assert code == 1 and f"no message with queue ID {gone}" in err, err
    time.sleep(QUIET)
    assert bounces.connections() == 0 and notifications(d) == []


def test_bounce_sends_a_dsn_to_the_sender(relay, remote):
    bounces = remote(BOUNCE_IP)
    d = relay(queue=FAR)
    qid = deferred_message(d, "retired@dest.test", subject="to bounce")
    _, out, _ = ctl(d, "queue", "bounce", qid, "--reason", "mailbox retired by the operator")
    assert f"{qid}: bounce done" in out, out
    [(env, dsn)] = wait_for(lambda: reports(bounces), TIMEOUT, "a DSN at the sender's domain", d)
    assert env["mail_from"] == "" and env["rcpt_tos"] == [SENDER], env
    block = dsn.recipient("retired@dest.test")
    assert block["Action"].strip().lower() == "failed"
    assert block["Status"].strip() == "5.0.0", block["Status"]
    diagnostic = " ".join(block["Diagnostic-Code"].split())  # unfolded
    assert "bounced by the administrator: mailbox retired by the operator" in diagnostic, diagnostic
    assert notifications(d, qid), "the non-delivery notification line"
    wait_for(lambda: removed(d, qid), TIMEOUT, "the bounced message removed", d)
    [line] = delivery_lines(d, qid=qid, status="bounced")
    assert line["dsn"] == "5.0.0" and "mailbox retired" in line["reply"], line["line"]
    assert qid not in d.queue_ids()


def test_destination_suspend_and_resume(relay, remote):
    mx = remote("127.0.0.2")
    # implicit.test's first attempt is refused (its remote comes up after the
    # message) and its 1s retries must reach it: no automatic down time here,
    # this test is about the administrator's suspension.
    d = relay(queue={"retry_schedule": ["1s"]}, delivery={"destination_down_time": "0s"})
    _, out, _ = ctl(d, "destination", "suspend", "Dest.Test")
    assert "destination dest.test suspended" in out, out
    _, out, _ = ctl(d, "destination", "list")
    assert out.strip() == "dest.test suspended", out
    qid = send(d, SENDER, ["wait@dest.test"], message_with("suspended"))
    other = send(d, SENDER, ["go@implicit.test"], message_with("not suspended"))
    mx4 = remote("127.0.0.4")
    wait_for(lambda: "destination dest.test is suspended" in d.log(), TIMEOUT, "the suspension line", d)
    time.sleep(QUIET)
    assert mx.delivered_rcpts() == [], "nothing goes to a suspended destination"
    assert qid in d.queue_ids()
    assert "dest.test" in ctl_json(d, "queue", "summary")["suspended"]
    # Other destinations are not affected (this one was deferred at once: its
    # remote came up after the message; its 1s retries reach it).
    wait_for(lambda: mx4.delivered_rcpts(), TIMEOUT, "implicit.test delivered", d)
    wait_for(lambda: other not in d.queue_ids(), TIMEOUT, "the other message gone", d)
    assert mx.delivered_rcpts() == [] and qid in d.queue_ids()
    _, out, _ = ctl(d, "destination", "resume", "dest.test")
    assert "destination dest.test resumed" in out, out
    wait_for(lambda: mx.delivered_rcpts(), TIMEOUT, "delivery after resume", d)
    assert mx.delivered_rcpts() == ["wait@dest.test"]
    assert ctl(d, "destination", "list")[1].strip() == ""


def test_reload_is_sighup(relay):
    d = relay()
    _, out, _ = ctl(d, "reload")
    assert out.strip() == "reloaded"
    wait_for(lambda: "TLS certificates reloaded" in d.log(), TIMEOUT, "the reload line", d)


def test_errors_for_bad_input(relay):
    d = relay(queue=FAR)
    qid = deferred_message(d, "e@dest.test")
    cases = [
        (("queue", "show", "not-an-id!"), 2, "bad queue ID 'not-an-id!'"),
        (("queue", "show", "06H34ZKPH0000009"), 1, "no message with queue ID 06H34ZKPH0000009"),
        (("queue", "hold", "06H34ZKPH0000009"), 1, "no message with queue ID 06H34ZKPH0000009"),
        (("queue", "flush"), 2, "flush needs queue IDs or a selector"),
        (("queue", "delete", "--domain", "bad domain"), 2, "bad domain 'bad domain'"),
        (("queue", "list", "--state", "frozen"), 2, "unknown state 'frozen'"),
        (("queue", "hold", "--sender", "nobody"), 2, "bad sender 'nobody'"),
        (("queue", "bounce", "--all"), 2, "--reason is required"),
        (("queue", "hold", qid, "--all"), 2, "not both"),
        (("destination", "suspend", "a..b"), 2, "bad domain 'a..b'"),
    ]
    for args, want_rc, want in cases:
        code, out, err = ctl(d, *args, check=False)
        assert code == want_rc, (args, code, out, err)
        assert want in err, (args, err)
    assert d.queue_ids() == [qid], "no bad request changed anything"


def test_changes_need_the_daemon_reads_do_not(relay):
    d = relay(queue=FAR)
    qid = deferred_message(d, "stopped@dest.test")
    d.stop()
    code, _, err = ctl(d, "queue", "flush", "--all", check=False)
    assert code == 1 and "daemon is not running" in err, err
    code, _, err = ctl(d, "destination", "suspend", "dest.test", check=False)
    assert code == 1 and "daemon is not running" in err, err
    assert list_ids(d) == [qid]
    assert ctl_json(d, "queue", "summary")["total"] == 1
    assert show(d, qid)["state"] == "deferred"


def test_tcp_endpoint_requires_the_token(daemon_factory, tmp_path):
    port = free_port()
    token = "0123456789abcdef0123456789"
    d = daemon_factory({"admin": {"listen": f"127.0.0.1:{port}", "token": token}})
    assert not (d.data_dir / "admin.sock").exists()
    base = [str(ringmtactl_bin()), "--config", str(d.config_path)]
    cp = subprocess.run(base + ["queue", "summary", "--json"], capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0 and json.loads(cp.stdout)["ok"], cp.stderr
    env = dict(os.environ, RINGMTA_ADMIN_TOKEN="wrong-token-wrong-token")
    cp = subprocess.run(base + ["queue", "flush", "--all"], capture_output=True, text=True, timeout=60, env=env)
    assert cp.returncode == 1 and "permission denied" in cp.stderr, (cp.returncode, cp.stderr)


def test_unix_socket_is_private(relay):
    d = relay()
    mode = os.stat(d.data_dir / "admin.sock").st_mode & 0o777
    assert mode == 0o600, oct(mode)
