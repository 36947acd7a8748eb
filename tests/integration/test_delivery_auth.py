"""tests/integration/test_delivery_auth.py — issue 18's outbound identity:
upstream AUTH (delivery.credentials_file), delivery.source_address and
[delivery.rate].

Real peers only:
  - the AUTH-requiring smart host is a SECOND ringmta: auth.users_file made
    with `ringmtactl user add`, no trusted network (so it relays only for a
    login), AUTH offered only after STARTTLS (its self-signed certificate);
    the first ringmta relays to it with delivery.credentials_file. What the
    smart host accepted is read from its own queue (its onward delivery goes
    to a dead port, so mail stays there);
  - a peer that offers AUTH but no STARTTLS is a plain socket server here,
    which records every byte it receives: nothing of the login may be among
    them;
  - source addresses and rates use smtp_recorder.py (python3-aiosmtpd), which
    journals each connection's peer address, and dnsmasq for the MX path.
Every wait is bounded; nothing asserts a duration.
"""

import base64
import json
import os
import socket
import threading

import pytest

from auth_fixtures import make_users_file
from conftest import free_port, render_toml
from delivery_checks import SENDER, delivery_lines, message_with, send, wait_for, wait_lines
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    dns_zone, mx_port, relay, relay_settings, remote)
from metrics_checks import parse, scrape, value

TIMEOUT = 30.0
SMART_USER = "relay@client.test"
SMART_PASSWORD = "Sm4rt-host pass"


def credentials_file(path, host_key, user, password, mode=0o600):
    path.write_text(f"# upstream logins\n{host_key}  {user}:{password}\n")
    os.chmod(path, mode)
    return path


def smart_host(daemon_factory, tmp_path):
    """A ringmta that relays only for authenticated clients, AUTH after STARTTLS only."""
    users = make_users_file(tmp_path / "smart-users", {SMART_USER: SMART_PASSWORD})
    d = daemon_factory({
        "server": {"hostname": "smarthost.test"},
        "relay": {"trusted_networks": ["192.0.2.0/24"], "local_domains": ["smart-local.test"]},
        "auth": {"users_file": str(users), "failure_delay": "0"},
    }, name="smarthost")
    return d


def relaying_daemon(daemon_factory, tmp_path, smart_port, password, extra=None, name="client"):
    creds = credentials_file(tmp_path / f"{name}-passwords", f"[127.0.0.1]:{smart_port}", SMART_USER, password)
    delivery = {"relayhost": f"[127.0.0.1]:{smart_port}", "credentials_file": str(creds),
                "connect_timeout": "2s", "command_timeout": "5s", "destination_down_time": "0"}
    delivery.update(extra or {})
    return daemon_factory({"delivery": delivery,
                           "queue": {"retry_schedule": ["1s"], "max_lifetime": "1h", "delay_warning": "0"}},
                          name=name)


def test_auth_to_smart_host(daemon_factory, tmp_path):
    smart = smart_host(daemon_factory, tmp_path)
    client = relaying_daemon(daemon_factory, tmp_path, smart.port, SMART_PASSWORD)
    qid = send(client, SENDER, ["friend@elsewhere.example"], message_with("auth ok"))
    [line] = wait_lines(client, 1, timeout=TIMEOUT, qid=qid, status="sent")
    assert f"auth={SMART_USER}" in line["line"], line
    assert ", tls=TLS" in line["line"], line  # the login went over TLS
    # The smart host took it as an authenticated relay (it trusts no network).
    wait_for(lambda: smart.queue_list_json(), TIMEOUT, "the message in the smart host's queue", smart)
    [m] = smart.queue_list_json()
    assert m["recipients"] == ["friend@elsewhere.example"]
    assert "ESMTPSA" in smart.queue_cat(m["id"]).decode(errors="replace")  # RFC 3848: TLS + AUTH
    assert SMART_PASSWORD not in client.log()
    samples = parse(scrape(client))
    assert value(samples, "ringmta_delivery_auth_total", result="ok") >= 1


def test_wrong_password_defers(daemon_factory, tmp_path):
    smart = smart_host(daemon_factory, tmp_path)
    client = relaying_daemon(daemon_factory, tmp_path, smart.port, "not-the-password")
    qid = send(client, SENDER, ["friend@elsewhere.example"], message_with("auth bad"))
    # Deferred twice (retry_schedule 1s): never bounced, still queued.
    lines = wait_lines(client, 2, timeout=TIMEOUT, qid=qid, status="deferred")
    assert "535" in lines[0]["reply"] and "refused by" in lines[0]["reply"], lines[0]
    assert lines[0]["dsn"].startswith("4."), lines[0]
    assert delivery_lines(client, qid=qid, status="bounced") == []
    assert client.queue_ids() == [qid]
    assert smart.queue_ids() == []
    log = client.log()
    assert "not-the-password" not in log
    assert base64.b64encode(f"\0{SMART_USER}\0not-the-password".encode()).decode() not in log
    samples = parse(scrape(client))
    assert value(samples, "ringmta_delivery_auth_total", result="failed") >= 1


class PlainAuthPeer:
    """An SMTP peer that offers AUTH PLAIN LOGIN but no STARTTLS, and keeps
    every byte a client sends it (one thread per connection, bounded)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.received = b""
        self.connections = 0
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.sock.settimeout(0.2)
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with self.lock:
                self.connections += 1
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        conn.settimeout(10)
        try:
            conn.sendall(b"220 plain.peer.test ESMTP\r\n")
            buf = b""
            for _ in range(50):  # bounded: a few commands per connection
                data = conn.recv(4096)
                if not data:
                    return
                with self.lock:
                    self.received += data
                buf += data
                while b"\r\n" in buf:
                    line, buf = buf.split(b"\r\n", 1)
                    verb = line.split(b" ", 1)[0].upper()
                    if verb == b"EHLO":
                        conn.sendall(b"250-plain.peer.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                    elif verb == b"QUIT":
                        conn.sendall(b"221 bye\r\n")
                        return
                    else:
                        conn.sendall(b"250 ok\r\n")
        except OSError:
            pass
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()


def test_peer_without_starttls_gets_nothing(daemon_factory, tmp_path):
    peer = PlainAuthPeer()
    try:
        client = relaying_daemon(daemon_factory, tmp_path, peer.port, SMART_PASSWORD)
        qid = send(client, SENDER, ["friend@elsewhere.example"], message_with("no tls"))
        [line] = wait_lines(client, 1, timeout=TIMEOUT, qid=qid, status="deferred")[:1]
        assert "did not offer STARTTLS" in line["reply"], line
        assert client.queue_ids() == [qid]
        with peer.lock:
            got = peer.received
        assert peer.connections >= 1
        assert b"EHLO" in got
        assert b"AUTH" not in got.upper() and b"MAIL FROM" not in got.upper(), got
        assert SMART_PASSWORD.encode() not in got
        assert SMART_PASSWORD not in client.log()
    finally:
        peer.stop()


def test_credentials_file_mode_refused(daemon_factory, tmp_path):
    creds = credentials_file(tmp_path / "loose", "[127.0.0.1]:25", "u", "p", mode=0o640)
    d = daemon_factory({"delivery": {"relayhost": "[127.0.0.1]:25", "credentials_file": str(creds)}},
                       start=False)
    import subprocess
    from conftest import ringmta_bin
    cp = subprocess.run([str(ringmta_bin()), "--config", str(d.config_path)], capture_output=True,
                        timeout=60, cwd=d.workdir, stdin=subprocess.DEVNULL)
    assert cp.returncode != 0
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert "lets group or others at the passwords" in out, out
    assert "p\n" not in out.split("passwords")[1][:10]


def test_source_address(relay, remote, mx_port):
    rec = remote("127.0.0.3")
    d = relay({"relayhost": f"[127.0.0.3]:{mx_port}", "source_address": ["127.0.0.2", "::1"]}, start=False)
    # A domain with its own source address (and so its own connections).
    d.config_path.write_text(d.config_path.read_text() +
                             '\n[delivery.source_addresses]\n"special.test" = "127.0.0.5"\n')
    d.start()
    q1 = send(d, SENDER, ["a@dest.test"], message_with("from two"))
    q2 = send(d, SENDER, ["b@special.test"], message_with("from five"))
    for qid in (q1, q2):
        wait_lines(d, 1, timeout=TIMEOUT, qid=qid, status="sent")
    [l1] = delivery_lines(d, qid=q1, status="sent")
    [l2] = delivery_lines(d, qid=q2, status="sent")
    assert "source=127.0.0.2" in l1["line"] and "source=127.0.0.5" in l2["line"], (l1, l2)
    peers = {tuple(e["peer"])[0] for e in rec.events("connect")}
    assert peers == {"127.0.0.2", "127.0.0.5"}, rec.events("connect")
    by_rcpt = {m["rcpt_tos"][0]: m for m in rec.messages()}
    assert set(by_rcpt) == {"a@dest.test", "b@special.test"}


def test_rate_limit_keeps_mail_queued(relay, remote, mx_port):
    rec = remote("127.0.0.2")  # mx.dest.test
    d = relay(start=False)
    d.config_path.write_text(d.config_path.read_text() +
                             '\n[delivery.rate."dest.test"]\nmessages_per_minute = 2\n')
    d.start()
    qids = [send(d, SENDER, [f"r{i}@dest.test"], message_with(f"rate {i}", n=i)) for i in range(5)]
    sent = wait_lines(d, 2, timeout=TIMEOUT, status="sent")
    held = wait_lines(d, 3, timeout=TIMEOUT, status="deferred")
    assert all("rate_limited=dest.test" in h["line"] for h in held), held
    assert all(h["dsn"] == "4.4.5" for h in held)
    # Right after: two delivered, three waiting in the queue (not bounced).
    assert len(delivery_lines(d, status="sent")) == 2
    assert len(rec.messages()) == 2
    queued = d.queue_list_json()
    assert len(queued) == 3 and {m["id"] for m in queued} <= set(qids)
    for m in queued:  # held back is not an attempt: no retry backoff from it
        shown = json.loads(d.ctl("queue", "show", m["id"], "--json").stdout)
        shown = shown.get("message", shown)
        [r] = shown["recipient_states"]
        assert r["state"] == "pending" and r["attempts"] == 0, r
        assert "rate limit for dest.test" in r["last_reply"], r
    assert delivery_lines(d, status="bounced") == []
    out = d.ctl("destination", "list").stdout.decode()
    assert "rate dest.test: 2/min" in out and "2 messages and 0 connections let through, 3 held back" in out, out
    samples = parse(scrape(d))
    assert value(samples, "ringmta_delivery_rate_limited_total") >= 3
    # The held mail goes later, one per token (every 30 s at 2/min).
    wait_for(lambda: len(rec.messages()) >= 3, 75, "a third message after the rate wait", d)


def test_source_address_by_family(daemon_factory, tmp_path):
    """An IPv6 peer gets the IPv6 source, never the IPv4 one (a second ringmta
    on [::1] is the peer; its connect line names the client address)."""
    peer = daemon_factory({"server": {"hostname": "v6peer.test"},
                           "relay": {"trusted_networks": ["::1/128", "127.0.0.1/32"]}},
                          start=False, name="v6peer")
    v6_port = free_port()
    peer.settings["listener"].append({"address": f"[::1]:{v6_port}", "kind": "smtp"})
    peer.config_path.write_text(render_toml(peer.settings))
    peer.start()
    client = daemon_factory({"delivery": {"relayhost": f"[::1]:{v6_port}",
                                          "source_address": ["127.0.0.2", "::1"],
                                          "connect_timeout": "2s"}}, name="v6client")
    qid = send(client, SENDER, ["friend@elsewhere.example"], message_with("v6 source"))
    [line] = wait_lines(client, 1, timeout=TIMEOUT, qid=qid, status="sent")
    assert "source=::1" in line["line"], line
    # (Loopback has one IPv6 address, so this shows the family choice — an
    # IPv4 source on the IPv6 socket would fail the bind — not a different
    # address than the kernel's.)
    peer.wait_log("connect client=[::1]:")
    wait_for(lambda: peer.queue_list_json(), TIMEOUT, "the message at the IPv6 peer", peer)


def test_connection_rate_holds_jobs(relay, remote, mx_port):
    """connections_per_minute = 1 with one message per connection: the first
    message goes at once, the others wait for a connection (in the queue,
    not bounced, not deferred)."""
    rec = remote("127.0.0.2")  # mx.dest.test
    d = relay({"max_messages_per_connection": 1}, start=False)
    d.config_path.write_text(d.config_path.read_text() +
                             '\n[delivery.rate."dest.test"]\nconnections_per_minute = 1\n')
    d.start()
    qids = [send(d, SENDER, [f"c{i}@dest.test"], message_with(f"conn {i}", n=i)) for i in range(3)]
    wait_lines(d, 1, timeout=TIMEOUT, status="sent")
    wait_for(lambda: "held back" in d.ctl("destination", "list").stdout.decode() and
             " 0 held back" not in d.ctl("destination", "list").stdout.decode(),
             TIMEOUT, "a connection held back", d)
    # Right after: one connection, one message; the other two still queued.
    assert rec.connections() == 1
    assert len(rec.messages()) == 1
    assert len(d.queue_list_json()) == 2 and set(d.queue_ids()) <= set(qids)
    assert delivery_lines(d, status="bounced") == [] and delivery_lines(d, status="deferred") == []
    out = d.ctl("destination", "list").stdout.decode()
    assert "rate dest.test: 0/min, 0/h, 1 conn/min; 3 messages and 1 connections let through" in out, out
