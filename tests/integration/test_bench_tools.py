"""tests/integration/test_bench_tools.py — `ringmta-bench send` and `sink`.

Short, bounded runs on loopback whose counts must agree across the tools:
what the sender saw accepted, what the sink counted and recorded, and what
the real ringmta daemon holds in its queue. Injected faults (RCPT/DATA
4xx/5xx, refused connections) must be counted identically on both sides;
TLS (STARTTLS and implicit) with AUTH PLAIN on both the sink and the daemon.
No assertion on timings: those belong in the benchmarks.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from auth_fixtures import USERS, auth_daemon
from conftest import RawSmtp, dead_port, find_binary, free_port, render_toml
from test_tls import make_cert

RUN_TIMEOUT = 120  # seconds for any single tool run (each also has its own --time-limit)


def bench_bin():
    return find_binary("ringmta-bench", "RINGMTA_BENCH_BIN")


class Sink:
    """A `ringmta-bench sink` process; stop() ends it (SIGTERM, by PID) and returns its JSON report."""

    def __init__(self, tmp_path, *args):
        self.port = free_port()
        self.record = tmp_path / f"sink-{self.port}.jsonl"
        err_path = tmp_path / f"sink-{self.port}.err"
        self.stderr = open(err_path, "wb")
        self.proc = subprocess.Popen(
            [str(bench_bin()), "sink", "--listen", f"127.0.0.1:{self.port}", "--json", "--duration", "300",
             "--report-interval", "0", "--record", str(self.record), *args],
            stdout=subprocess.PIPE, stderr=self.stderr)
        # Ready when it says so (a probe connection would show up in its counts).
        deadline = time.monotonic() + 10
        while b"listening on" not in err_path.read_bytes():
            assert self.proc.poll() is None, f"sink exited at start: {err_path.read_bytes()!r}"
            assert time.monotonic() < deadline, "sink did not listen"
            time.sleep(0.05)
        self.report = None

    def stop(self):
        if self.report is None:
            self.proc.send_signal(signal.SIGTERM)
            out, _ = self.proc.communicate(timeout=30)
            self.stderr.close()
            assert self.proc.returncode == 0, self.proc.returncode
            self.report = json.loads(out)
        return self.report

    def records(self):
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        if not self.stderr.closed:
            self.stderr.close()


@pytest.fixture
def sink_factory(tmp_path):
    made = []

    def make(*args):
        s = Sink(tmp_path, *args)
        made.append(s)
        return s

    yield make
    for s in made:
        s.kill()


def send(port, *args, expect_rc=0):
    """Run `ringmta-bench send --json`; returns its report (dict)."""
    cp = subprocess.run([str(bench_bin()), "send", "--target", f"127.0.0.1:{port}", "--json",
                         "--time-limit", "90", *args],
                        capture_output=True, timeout=RUN_TIMEOUT, stdin=subprocess.DEVNULL)
    assert cp.returncode == expect_rc, (cp.returncode, cp.stdout, cp.stderr)
    return json.loads(cp.stdout)


def code(report, cmd, reply):
    return report["replies"].get(cmd, {}).get(str(reply), 0)


def test_send_to_sink_counts_agree(sink_factory):
    sink = sink_factory()
    r = send(sink.port, "--sessions", "20", "--messages", "3000", "--size", "2048", "--rcpts", "3",
             "--domains", "a.test,b.test,c.test", "--threads", "2")
    s = sink.stop()
    recs = sink.records()
    assert r["messages_accepted"] == 3000
    assert r["messages_rejected"] == 0 and r["messages_lost"] == 0 and r["connection_failures"] == 0
    assert code(r, "end_of_data", 250) == 3000
    assert code(r, "mail", 250) == 3000 and code(r, "rcpt", 250) == 9000 and code(r, "data", 354) == 3000
    assert s["messages"] == 3000 and s["recipients"] == 9000
    assert s["peak_connections"] == 20 and s["connections"] == 20
    assert len(recs) == 3000
    assert all(rec["reply"] == 250 and rec["size"] == 2048 and len(rec["rcpts"]) == 3 for rec in recs)
    assert {d.split("@")[1] for rec in recs for d in rec["rcpts"]} == {"a.test", "b.test", "c.test"}
    assert r["bytes_accepted"] == 3000 * 2048 == s["bytes"]
    for phase in ("connect", "ehlo", "mail", "end_of_data"):
        lat = r["latency_ms"][phase]
        assert lat["count"] > 0 and 0 <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    assert r["latency_ms"]["end_of_data"]["count"] == 3000


@pytest.mark.parametrize("pipelining", ["on", "off"])
def test_injected_failures_are_counted_on_both_sides(sink_factory, pipelining):
    sink = sink_factory("--rcpt-temp-fail", "10", "--rcpt-perm-fail", "5", "--data-temp-fail", "4",
                        "--data-perm-fail", "3", "--seed", "42")
    r = send(sink.port, "--sessions", "8", "--messages", "2000", "--rcpts", "2", "--pipelining", pipelining)
    s = sink.stop()
    recs = sink.records()
    # Every injected fault happened (the shares are large enough for 2,000 messages).
    for key in ("rcpt_temp_fail", "rcpt_perm_fail", "data_temp_fail", "data_perm_fail"):
        assert s[key] > 0, key
    assert code(r, "rcpt", 451) == s["rcpt_temp_fail"]
    assert code(r, "rcpt", 550) == s["rcpt_perm_fail"]
    assert code(r, "end_of_data", 451) == s["data_temp_fail"]
    assert code(r, "end_of_data", 554) == s["data_perm_fail"]
    assert code(r, "end_of_data", 250) == r["messages_accepted"] == s["messages"]
    # Messages whose recipients were all refused get 554 at DATA and an RSET after.
    no_rcpt = code(r, "data", 554)
    assert no_rcpt > 0 and code(r, "rset", 250) == no_rcpt
    assert r["messages_rejected"] == no_rcpt + s["data_temp_fail"] + s["data_perm_fail"]
    assert r["messages_accepted"] + r["messages_rejected"] == 2000
    # The record has one line per end of DATA, with the injected replies.
    assert len(recs) == 2000 - no_rcpt
    assert sum(1 for x in recs if x["reply"] == 451) == s["data_temp_fail"]
    assert sum(1 for x in recs if x["reply"] == 554) == s["data_perm_fail"]
    assert sum(len(x["rcpts"]) for x in recs if x["reply"] == 250) == s["recipients"]
    assert sum(x["rejected_rcpts"] for x in recs) + 2 * no_rcpt == s["rcpt_temp_fail"] + s["rcpt_perm_fail"]


def test_refused_connections_are_failures_up_to_the_threshold(sink_factory):
    sink = sink_factory("--refuse", "30", "--seed", "7")
    r = send(sink.port, "--sessions", "5", "--messages", "300", "--per-connection", "2", "--max-failures", "100000")
    s = sink.stop()
    assert s["refused"] > 0
    assert r["connection_failures"] == s["refused"]
    assert r["messages_accepted"] == s["messages"] == 300
    # Without the allowance the first refusal stops the run: exit code 1.
    sink2 = sink_factory("--refuse", "100")
    r2 = send(sink2.port, "--sessions", "2", "--messages", "10", expect_rc=1)
    assert r2["too_many_failures"] and r2["messages_accepted"] == 0
    sink2.stop()


def test_dead_target_fails_fast():
    r = send(dead_port(), "--sessions", "3", "--messages", "10", expect_rc=1)
    assert r["connection_failures"] >= 1 and "connect" in r["first_error"]


def test_duration_and_rate_bound_the_run(sink_factory):
    sink = sink_factory()
    t0 = time.monotonic()
    r = send(sink.port, "--sessions", "4", "--duration", "1.5", "--rate", "200")
    took = time.monotonic() - t0
    s = sink.stop()
    assert took < 30  # bounded (generous: no timing pass/fail, only "it ended")
    assert 0 < r["messages_accepted"] == s["messages"]
    # The limit is enforced: 200/s for 1.5 s plus a 10 ms burst allowance per shard.
    assert r["messages_accepted"] <= 200 * 1.5 + 10


def test_bad_arguments_exit_2():
    for args in (["send", "--target", "nohost", "--messages", "1"],
                 ["send", "--target", "127.0.0.1:25"],
                 ["send", "--target", "127.0.0.1:25", "--messages", "1", "--pipelining", "maybe"],
                 ["sink", "--listen", "127.0.0.1:1", "--rcpt-temp-fail", "101"],
                 ["sink", "--listen", "127.0.0.1:1", "--tls", "onlyone"]):
        cp = subprocess.run([str(bench_bin()), *args], capture_output=True, timeout=30)
        assert cp.returncode == 2, (args, cp.stderr)
        assert cp.stderr.strip(), args


def test_message_files_are_sent_dot_stuffed(sink_factory, tmp_path):
    d = tmp_path / "msgs"
    d.mkdir()
    (d / "a.eml").write_bytes(b"Subject: a\n\n.leading dot\nend\n")         # LF ends, leading dot
    (d / "b.eml").write_bytes(b"Subject: b\r\n\r\nno final line end")       # CRLF added
    sink = sink_factory()
    r = send(sink.port, "--sessions", "2", "--messages", "20", "--message-file", str(d))
    sink.stop()
    sizes = {x["size"] for x in sink.records()}
    assert r["messages_accepted"] == 20
    # As received on the wire: CRLF line ends, ".leading" stuffed to "..leading".
    assert sizes <= {len(b"Subject: a\r\n\r\n..leading dot\r\nend\r\n"),
                     len(b"Subject: b\r\n\r\nno final line end\r\n")}
    assert len(sizes) == 2


def test_sink_takes_bdat_chunks(sink_factory):
    sink = sink_factory()
    with RawSmtp(sink.port) as c:
        _, ehlo = c.greet_ehlo()
        assert "CHUNKING" in ehlo.split("\n")
        # Two chunks, the last one empty; raw bytes, no dot-stuffing.
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<r@dest.test>", 250)
        c.send(b"BDAT 8\r\n.a\r\n.\r\nb")
        assert c.reply()[0] == 250
        c.send(b"BDAT 0 LAST\r\n")
        assert c.reply()[0] == 250
        # No recipient: the chunk is read, then refused, and the stream stays in step.
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.send(b"BDAT 4 LAST\r\nQUITNOOP\r\n")
        assert c.reply()[0] == 554
        assert c.reply()[0] == 250  # the NOOP after the chunk
        # Pipelined in one write, as ringmta sends it.
        c.send(b"MAIL FROM:<a@client.test>\r\nRCPT TO:<r@dest.test>\r\nBDAT 3 LAST\r\nxy\n")
        assert [c.reply()[0] for _ in range(3)] == [250, 250, 250]
        # A size that is not a number: the byte stream cannot be followed, so the sink hangs up.
        c.expect("MAIL FROM:<a@client.test>", 250)
        c.expect("RCPT TO:<r@dest.test>", 250)
        assert c.cmd("BDAT x LAST")[0] == 501
        assert c.closed_by_peer()
    sink.stop()
    assert [(r["size"], r["bdat"]) for r in sink.records()] == [(8, True), (3, True)]


def test_sink_without_chunking_refuses_bdat(sink_factory):
    sink = sink_factory("--no-chunking")
    with RawSmtp(sink.port) as c:
        _, ehlo = c.greet_ehlo()
        assert "CHUNKING" not in ehlo.split("\n")
        assert c.cmd("BDAT 3 LAST")[0] == 501
    sink.stop()


@pytest.mark.parametrize("mode", ["--starttls", "--tls"])
def test_tls_and_auth_against_the_sink(sink_factory, tmp_path, mode):
    cert, key = make_cert(tmp_path, "sink", "sink.test")
    extra = ["--implicit-tls"] if mode == "--tls" else []
    sink = sink_factory("--tls", f"{cert},{key}", *extra)
    r = send(sink.port, "--sessions", "4", "--messages", "400", mode, "--auth", "carol:pw", "--per-connection", "50")
    s = sink.stop()
    assert r["messages_accepted"] == s["messages"] == 400
    # 50 messages per connection; sessions share the total, so at least 8 connections.
    conns = r["connections_opened"]
    assert conns >= 8 and s["tls_sessions"] == conns and s["tls_failures"] == 0
    assert code(r, "auth", 235) == s["auths"] == conns
    assert r["latency_ms"]["tls"]["count"] == conns
    assert all(x["tls"] and x["auth"] == "carol" for x in sink.records())


def test_send_to_ringmta_matches_its_queue(daemon):
    r = send(daemon.port, "--sessions", "10", "--messages", "500", "--size", "4096", "--rcpts", "2",
             "--domains", "remote.test,other.test")
    assert r["messages_accepted"] == 500 and r["connection_failures"] == 0
    assert code(r, "end_of_data", 250) == 500
    # Every 250 means durably queued (the relayhost is a dead port: nothing leaves).
    out = daemon.ctl("queue", "list").stdout.decode()
    assert len([line for line in out.splitlines() if line.strip()]) == 500


def test_send_over_tls_with_auth_to_ringmta(daemon_factory, tmp_path):
    cert, key = make_cert(tmp_path, "mx", "mx.test.example")
    d = auth_daemon(daemon_factory, tmp_path, extra_listeners=[{"kind": "submissions"}], start=False)
    d.settings["tls"] = {"certificate": str(cert), "private_key": str(key)}
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    user, password = "alice", USERS["alice"]
    r = send(d.extra_ports[0], "--sessions", "4", "--messages", "200", "--tls", "--auth", f"{user}:{password}")
    assert r["messages_accepted"] == 200 and code(r, "auth", 235) == 4
    r2 = send(d.port, "--sessions", "2", "--messages", "50", "--starttls", "--auth", f"{user}:{password}")
    assert r2["messages_accepted"] == 50
    assert len(d.queue_ids()) == 250
    # A wrong password is a connection failure (535), reported and exit code 1.
    r3 = send(d.extra_ports[0], "--sessions", "1", "--messages", "5", "--tls", "--auth", f"{user}:wrong",
              expect_rc=1)
    assert code(r3, "auth", 535) == 1 and r3["messages_accepted"] == 0


SYNC_COST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "sync-cost.py")


def test_sync_cost_measures_both_ways_and_cleans_up(tmp_path):
    cp = subprocess.run([SYNC_COST, "--dir", str(tmp_path), "--syncs", "5", "--size", "512", "--rounds", "2"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    rows = [l.split() for l in cp.stdout.splitlines() if l.startswith("round ")]
    assert [(r[1], r[2]) for r in rows] == [("1", "append"), ("1", "overwrite"), ("2", "append"), ("2", "overwrite")]
    for r in rows:
        assert float(r[3]) > 0, r  # wall µs per sync; no judgement on the figure
    assert list(tmp_path.iterdir()) == [], "the scratch file was left behind"
    bad = subprocess.run([SYNC_COST, "--dir", str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "not a directory" in bad.stderr, bad.stderr
