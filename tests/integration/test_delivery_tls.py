"""tests/integration/test_delivery_tls.py — outbound STARTTLS (delivery.tls, [delivery.tls_policy]).

The real daemon delivers to remote MX hosts that are python3-aiosmtpd servers
(smtp_recorder.py) on 127.0.0.2/.3/.4, some offering STARTTLS with
certificates made here by the openssl CLI: a test CA with CA-signed
certificates for mx.dest.test (the right name) and for wrong.example (the
wrong one), and a self-signed certificate for mx.dest.test. MX names come
from dnsmasq (dest.test -> mx.dest.test at 127.0.0.2; pref.test -> mx1 at
127.0.0.2, mx2 at 127.0.0.3; implicit.test -> 127.0.0.4), so "verify" has a
real host name to check. What each case checks: whether the message arrived,
whether it came over TLS (the recorder notes version and cipher), and the
daemon's delivery log line (", tls=TLSv1.x CIPHER" when TLS was used; the
deferral reason when required TLS could not be had).
"""

import subprocess

import pytest

from conftest import ringmta_bin
from delivery_checks import SENDER, delivery_lines, message_with, send, wait_for, wait_lines
from delivery_fixtures import (  # noqa: F401 - fixtures are found by name
    dns_zone, mx_port, relay, relay_settings, remote)
from metrics_checks import parse, scrape, value

DELIVERY_TIMEOUT = 20.0
OPENSSL = "/usr/bin/openssl"


def openssl(*args, cwd):
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """Paths of: ca, good (CA-signed, mx.dest.test), wrong (CA-signed,
    wrong.example), selfsigned (mx.dest.test); each a (cert, key) pair except ca."""
    d = tmp_path_factory.mktemp("certs")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ringmta test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)

    def signed(name, dns_name):
        (d / f"{name}.ext").write_text(
            f"subjectAltName=DNS:{dns_name}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns_name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
        return (str(d / f"{name}.pem"), str(d / f"{name}.key"))

    good = signed("good", "mx.dest.test")
    wrong = signed("wrong", "wrong.example")
    openssl("req", "-x509", *ec, "-keyout", "self.key", "-out", "self.pem", "-days", "2",
            "-subj", "/CN=mx.dest.test", "-addext", "subjectAltName=DNS:mx.dest.test", cwd=d)
    return {"ca": str(d / "ca.pem"), "good": good, "wrong": wrong,
            "selfsigned": (str(d / "self.pem"), str(d / "self.key"))}


def deliver_one(daemon, rcpt, subject):
    return send(daemon, SENDER, [rcpt], message_with(subject))


def sent_line(daemon, qid, rcpt):
    wait_lines(daemon, 1, timeout=DELIVERY_TIMEOUT, qid=qid, rcpt=rcpt, status="sent")
    [line] = delivery_lines(daemon, qid=qid, rcpt=rcpt, status="sent")
    return line


def deferred_lines(daemon, qid, rcpt, count=1):
    """Waits for `count` deferrals (retry_schedule is 1s, so 2 means it was retried)."""
    wait_lines(daemon, count, timeout=DELIVERY_TIMEOUT, qid=qid, rcpt=rcpt, status="deferred")
    return delivery_lines(daemon, qid=qid, rcpt=rcpt, status="deferred")


def tls_field(line):
    """The tls= value of a delivery log line, or None."""
    for field in line["line"].split(", "):
        if field.startswith("tls="):
            return field[4:]
    return None


def test_may_uses_starttls_when_offered(relay, remote, certs):
    mx = remote("127.0.0.2", tls=certs["selfsigned"])
    d = relay()  # delivery.tls defaults to "may"
    qid = deliver_one(d, "a@dest.test", "may with tls")
    line = sent_line(d, qid, "a@dest.test")
    assert (tls_field(line) or "").startswith("TLSv1.3 TLS_"), line["line"]
    assert line["relay"].startswith("mx.dest.test[127.0.0.2]:"), line["line"]
    [msg] = mx.messages()
    assert msg["tls"].startswith("TLSv1.3 "), msg
    assert b"Subject: may with tls" in msg["data"]


def test_may_without_starttls_is_plaintext(relay, remote):
    mx = remote("127.0.0.2")
    d = relay(delivery={"tls": "may"})
    qid = deliver_one(d, "b@dest.test", "may plain")
    line = sent_line(d, qid, "b@dest.test")
    assert tls_field(line) is None, line["line"]
    [msg] = mx.messages()
    assert msg["tls"] == ""


def test_none_never_starts_tls(relay, remote, certs):
    mx = remote("127.0.0.2", tls=certs["good"])
    d = relay(delivery={"tls": "none"})
    qid = deliver_one(d, "c@dest.test", "none")
    line = sent_line(d, qid, "c@dest.test")
    assert tls_field(line) is None, line["line"]
    [msg] = mx.messages()
    assert msg["tls"] == ""


def test_encrypt_accepts_self_signed(relay, remote, certs):
    mx = remote("127.0.0.2", tls=certs["selfsigned"])
    d = relay(delivery={"tls": "encrypt"})
    qid = deliver_one(d, "d@dest.test", "encrypt self-signed")
    line = sent_line(d, qid, "d@dest.test")
    assert (tls_field(line) or "").startswith("TLSv1."), line["line"]
    [msg] = mx.messages()
    assert msg["tls"] != ""


def test_encrypt_without_starttls_defers_and_never_sends_plaintext(relay, remote):
    mx = remote("127.0.0.2")
    # Every retry must connect and refuse plaintext again: no down time
    # (which would defer the retry without a connection).
    d = relay(delivery={"tls": "encrypt", "destination_down_time": "0s"})
    qid = deliver_one(d, "e@dest.test", "encrypt plain")
    lines = deferred_lines(d, qid, "e@dest.test", count=2)  # the retry is deferred as well
    for line in lines:
        assert line["reply"] == (f"TLS is required but mx.dest.test[127.0.0.2]:{mx.port} "
                                 "did not offer STARTTLS"), line["line"]
        assert line["dsn"] == "4.7.4", line["line"]
        assert tls_field(line) is None, line["line"]
    assert mx.connections() >= 2
    assert mx.messages() == [], "mail went out in plaintext under delivery.tls = encrypt"
    assert d.queue_ids() == [qid]


def test_verify_with_test_ca_and_right_name(relay, remote, certs):
    mx = remote("127.0.0.2", tls=certs["good"])
    d = relay(delivery={"tls": "verify", "tls_ca_file": certs["ca"]})
    qid = deliver_one(d, "f@dest.test", "verify good")
    line = sent_line(d, qid, "f@dest.test")
    assert (tls_field(line) or "").startswith("TLSv1."), line["line"]
    assert len(mx.messages()) == 1
    d.wait_log("certificate /CN=mx.dest.test trusted")


def test_verify_wrong_name_defers(relay, remote, certs):
    mx = remote("127.0.0.2", tls=certs["wrong"])  # CA-signed, but for wrong.example
    d = relay(delivery={"tls": "verify", "tls_ca_file": certs["ca"]})
    qid = deliver_one(d, "g@dest.test", "verify wrong name")
    [line, *_] = deferred_lines(d, qid, "g@dest.test")
    assert line["reply"].startswith(f"TLS handshake with mx.dest.test[127.0.0.2]:{mx.port} failed: "), line["line"]
    assert "certificate verify failed" in line["reply"] and "mismatch" in line["reply"], line["line"]
    assert mx.messages() == []


def test_verify_self_signed_defers(relay, remote, certs):
    mx = remote("127.0.0.2", tls=certs["selfsigned"])
    d = relay(delivery={"tls": "verify", "tls_ca_file": certs["ca"]})
    qid = deliver_one(d, "h@dest.test", "verify self-signed")
    [line, *_] = deferred_lines(d, qid, "h@dest.test")
    assert "certificate verify failed" in line["reply"], line["line"]
    assert "self-signed" in line["reply"] or "self signed" in line["reply"], line["line"]
    assert mx.messages() == []


def test_verify_relayhost_by_name_checks_that_name(relay, remote, certs):
    # "[mx.dest.test]:PORT": no MX lookup; the name checked is the relayhost's.
    mx = remote("127.0.0.2", tls=certs["good"])
    d = relay(delivery={"tls": "verify", "tls_ca_file": certs["ca"],
                        "relayhost": f"[mx.dest.test]:{mx.port}"})
    qid = deliver_one(d, "i@elsewhere.test", "verify relayhost")
    line = sent_line(d, qid, "i@elsewhere.test")
    assert line["relay"] == f"mx.dest.test[127.0.0.2]:{mx.port}", line["line"]
    assert (tls_field(line) or "").startswith("TLSv1."), line["line"]
    assert [m["rcpt_tos"] for m in mx.messages()] == [["i@elsewhere.test"]]


def test_required_tls_failure_tries_the_next_mx(relay, remote, certs):
    mx1 = remote("127.0.0.2")                             # pref 10, no STARTTLS
    mx2 = remote("127.0.0.3", tls=certs["selfsigned"])    # pref 20
    d = relay(delivery={"tls": "encrypt"})
    qid = deliver_one(d, "j@pref.test", "next mx")
    line = sent_line(d, qid, "j@pref.test")
    assert line["relay"] == f"mx2.pref.test[127.0.0.3]:{mx2.port}", line["line"]
    assert tls_field(line), line["line"]
    assert mx1.connections() == 1 and mx1.messages() == []
    assert len(mx2.messages()) == 1


def test_tls_policy_per_domain(relay, remote):
    plain_dest = remote("127.0.0.2")    # mx.dest.test
    plain_other = remote("127.0.0.4")   # implicit.test
    d = relay(delivery={"tls": "may", "tls_policy": {"dest.test": "encrypt"}})
    strict = deliver_one(d, "k@dest.test", "policy strict")
    loose = deliver_one(d, "l@implicit.test", "policy loose")
    line = sent_line(d, loose, "l@implicit.test")
    assert tls_field(line) is None, line["line"]
    [deferred, *_] = deferred_lines(d, strict, "k@dest.test")
    assert "did not offer STARTTLS" in deferred["reply"], deferred["line"]
    assert plain_dest.messages() == []
    assert [m["rcpt_tos"] for m in plain_other.messages()] == [["l@implicit.test"]]


def test_unreadable_ca_file_stops_the_start(daemon_factory, dns_zone, mx_port, tmp_path):
    settings = relay_settings(dns_zone.server(), mx_port,
                              {"tls": "verify", "tls_ca_file": str(tmp_path / "missing-ca.pem")})
    d = daemon_factory(settings, start=False)
    proc = subprocess.run([str(ringmta_bin()), "--config", str(d.config_path)],
                          capture_output=True, timeout=30, text=True, cwd=tmp_path)
    assert proc.returncode != 0
    assert ("cannot set up outbound TLS: delivery.tls_ca_file: cannot load trusted CAs from "
            + str(tmp_path / "missing-ca.pem")) in proc.stderr, proc.stderr


def tls_log_lines(daemon):
    """The daemon's "delivery: TLS to ..." lines (one per handshake)."""
    return [x for x in daemon.log().splitlines() if "delivery: TLS to " in x]


@pytest.mark.parametrize("level", ["may", "verify"])
def test_sessions_are_resumed_on_the_next_connection(relay, remote, certs, level):
    remote("127.0.0.2", tls=certs["good"])
    d = relay(delivery={"tls": level, "tls_ca_file": certs["ca"], "max_messages_per_connection": 1})
    for i in range(3):  # one connection each, one after the other
        qid = deliver_one(d, f"r{i}@dest.test", f"resume {i}")
        assert (tls_field(sent_line(d, qid, f"r{i}@dest.test")) or "").startswith("TLSv1.3 "), i
    lines = tls_log_lines(d)
    assert len(lines) == 3, lines
    assert ", resumed" not in lines[0] and all(", resumed" in x for x in lines[1:]), lines
    # A resumed session keeps the first handshake's certificate check.
    assert all("certificate" in x and " trusted" in x for x in lines), lines
    wait_for(lambda: value(parse(scrape(d)), "ringmta_tls_resumed_total", direction="outbound") == 2,
             DELIVERY_TIMEOUT, "ringmta_tls_resumed_total{direction=outbound} == 2", d)


def test_resumption_can_be_turned_off(relay, remote, certs):
    remote("127.0.0.2", tls=certs["good"])
    d = relay(delivery={"tls_resumption": False, "max_messages_per_connection": 1})
    for i in range(2):
        qid = deliver_one(d, f"n{i}@dest.test", f"no resume {i}")
        sent_line(d, qid, f"n{i}@dest.test")
    lines = tls_log_lines(d)
    assert len(lines) == 2 and not any(", resumed" in x for x in lines), lines
    assert value(parse(scrape(d)), "ringmta_tls_resumed_total", direction="outbound") == 0
