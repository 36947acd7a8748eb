"""tests/integration/test_logs_json.py — log.format = "json".

Every line the daemon writes is one JSON object with ts, level and msg; the
per-event lines (connect, accept, delivery attempt, TLS) carry their event
name, the queue ID where there is one, and their key=value fields.
"""

import json
import smtplib
import ssl

from conftest import make_message, smtplib_send
from delivery_checks import wait_for


def records(d):
    out = []
    for line in d.log().splitlines():
        if line.startswith("=== start"):  # the fixture's own marker
            continue
        out.append(json.loads(line))      # every daemon line must parse
    return out


def test_json_lines(daemon_factory):
    d = daemon_factory({"log": {"format": "json"}})
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30) as s:
        s.ehlo("client.test")
        s.starttls(context=ctx)
        s.ehlo("client.test")
        qid = smtplib_send(s, "a@client.test", ["x@far.test"], make_message(1))
    wait_for(lambda: [r for r in records(d) if r.get("event") == "delivery"], 15, "a delivery record", d)
    recs = records(d)
    for r in recs:
        assert set(r) >= {"ts", "level", "msg"}, r
        assert r["ts"].endswith("Z") and "T" in r["ts"], r
    by_event = {}
    for r in recs:
        by_event.setdefault(r.get("event"), []).append(r)
    connects = by_event["connect"]
    assert any(c["client"].startswith("[127.0.0.1]:") and c["listener"] == d.settings["listener"][0]["address"]
               for c in connects), connects
    [tls] = by_event["tls"]
    assert tls["tls_version"].startswith("TLSv1."), tls
    [accept] = by_event["accept"]
    assert accept["queue_id"] == qid and accept["from"] == "a@client.test" and accept["to"] == "x@far.test", accept
    assert accept["nrcpt"] == "1", accept
    delivery = by_event["delivery"][0]
    assert delivery["queue_id"] == qid and delivery["to"] == "x@far.test", delivery
    assert delivery["status"] == "deferred" and delivery["dsn"].startswith("4."), delivery
    assert "Connection refused" in delivery["reply"], delivery
    assert [r for r in recs if r["level"] == "info" and "ringmta ready" in r["msg"]]
