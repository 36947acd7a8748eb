"""tests/adversarial/test_loop_self_delivery.py — ringmta never delivers to itself.

Issue 15 item 2: a relay that hands a message to its own listener accepts it
again, queues it again and relays it again until a size limit stops it (seen:
~500 passes). Checked here with the real daemon, dnsmasq and aiosmtpd
recorders on loopback (delivery_fixtures.py):
  - a route to a server that greets with the daemon's own server.hostname:
    one connection, QUIT, a bounce with Status 5.4.6, no retry;
  - a recipient domain whose MX (found in DNS at run time) is one of the
    daemon's own listeners, and a route via a host name that resolves to one:
    a bounce with 5.4.6, and the daemon accepted the message exactly once;
  - a relayhost or route that is one of its own listeners, written as an IP
    literal: `ringmta --check-config` and the start refuse it (exit 2) with
    a message naming the key and the listener.
"""

import subprocess

from conftest import render_toml, ringmta_bin
from delivery_checks import SENDER, message_with, queue_empty, removed, reports, send, wait_for, wait_lines
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    BOUNCE_IP, dns_zone, mx_port, relay, remote)

NO_METRICS = True  # see delivery_fixtures.relay: faster daemon exits
TIMEOUT = 20.0


def bounce_for(daemon, bounces, rcpt):
    """The one DSN the sender got, and its block for rcpt."""
    got = wait_for(lambda: reports(bounces) or None, TIMEOUT, "a bounce at the sender's MX", daemon)
    assert len(got) == 1, got
    env, dsn = got[0]
    assert env["rcpt_tos"] == [SENDER], env
    return dsn.recipient(rcpt)


def accepted_lines(daemon):
    return [line for line in daemon.log().splitlines() if ": accepted client=" in line]


def check_bounced_once(daemon, qid, bounces, rcpt):
    block = bounce_for(daemon, bounces, rcpt)
    assert block["Action"].strip().lower() == "failed", block
    assert block["Status"].strip() == "5.4.6", block["Status"]
    [line] = wait_lines(daemon, 1, qid=qid)
    assert line["status"] == "bounced" and line["dsn"] == "5.4.6", line["line"]
    assert "mail loops back to myself" in line["line"], line["line"]
    wait_for(lambda: removed(daemon, qid), TIMEOUT, f"'{qid}: removed'", daemon)
    wait_for(lambda: queue_empty(daemon), TIMEOUT, "an empty queue", daemon)
    return line


def test_server_greeting_with_own_hostname_bounces_5_4_6(relay, remote, mx_port):
    bounces = remote(BOUNCE_IP)
    # A server that calls itself by our name (mx.test.example, conftest):
    # it is us behind some address translation, or a twin with our name.
    twin = remote("127.0.0.5", hostname="mx.test.example")
    d = relay(delivery={"routes": {"loop.test": f"[127.0.0.5]:{mx_port}"}})
    qid = send(d, SENDER, ["someone@loop.test"], message_with("greeted by myself"))
    line = check_bounced_once(d, qid, bounces, "someone@loop.test")
    assert "greeted me with my own hostname mx.test.example" in line["line"], line["line"]
    # One connection, nothing handed over, and no retry after the bounce.
    assert twin.connections() == 1, twin.events()
    assert twin.messages() == []
    assert not twin.events("rcpt"), twin.events("rcpt")


def test_mx_in_dns_that_is_own_listener_bounces_and_accepts_once(relay, remote, mx_port):
    bounces = remote(BOUNCE_IP)
    # implicit.test has no MX and an A record 127.0.0.4 (delivery_fixtures
    # ZONE_ARGS): its implicit MX is 127.0.0.4:mx_port, which this daemon
    # listens on itself. Only DNS, at delivery time, can tell.
    d = relay(start=False)
    d.settings["listener"].append({"address": f"127.0.0.4:{mx_port}", "kind": "smtp"})
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    qid = send(d, SENDER, ["someone@implicit.test"], message_with("my own mx"))
    line = check_bounced_once(d, qid, bounces, "someone@implicit.test")
    assert f"which is my own listener 127.0.0.4:{mx_port}" in line["line"], line["line"]
    assert len(accepted_lines(d)) == 1, accepted_lines(d)  # the message never came back


def test_route_via_name_resolving_to_own_listener_bounces(relay, remote, mx_port):
    bounces = remote(BOUNCE_IP)
    # mx.dest.test resolves to 127.0.0.2 (dnsmasq); the daemon listens there.
    d = relay(start=False, delivery={"routes": {"loop.test": f"[mx.dest.test]:{mx_port}"}})
    d.settings["listener"].append({"address": f"127.0.0.2:{mx_port}", "kind": "smtp"})
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    qid = send(d, SENDER, ["a@loop.test", "b@loop.test"], message_with("routed to myself"))
    block = bounce_for(d, bounces, "b@loop.test")
    assert block["Status"].strip() == "5.4.6", block["Status"]
    lines = wait_lines(d, 2, qid=qid)
    assert sorted(x["status"] + " " + x["dsn"] for x in lines) == ["bounced 5.4.6"] * 2, lines
    wait_for(lambda: removed(d, qid), TIMEOUT, f"'{qid}: removed'", d)
    assert len(accepted_lines(d)) == 1, accepted_lines(d)


def check_refused(daemon, key, target, listener):
    """--check-config and a real start both exit 2 naming key, target and listener."""
    daemon.config_path.write_text(render_toml(daemon.settings))
    expected = (f"{key}: \"{target}\" is this daemon's own listener {listener}: "
                "mail sent there would loop back to ringmta itself")
    for args in (["--check-config"], []):
        cp = subprocess.run([str(ringmta_bin()), "--config", str(daemon.config_path), *args],
                            cwd=daemon.workdir, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
        err = cp.stderr.decode(errors="replace")
        assert cp.returncode == 2, (args, cp.returncode, err)
        assert expected in err, (args, err)


def test_relayhost_that_is_own_listener_refuses_to_start(daemon_factory):
    d = daemon_factory(start=False)
    target = f"[127.0.0.1]:{d.port}"
    d.settings["delivery"]["relayhost"] = target
    check_refused(d, "delivery.relayhost", target, f"127.0.0.1:{d.port}")


def test_route_that_is_own_listener_refuses_to_start(daemon_factory):
    d = daemon_factory(start=False)
    # No port: delivery.port applies, which is the listener's port here.
    d.settings["delivery"] = {"port": d.port, "routes": {"Loop.Test": "127.0.0.1"}}
    check_refused(d, 'delivery.routes."Loop.Test"', "127.0.0.1", f"127.0.0.1:{d.port}")
