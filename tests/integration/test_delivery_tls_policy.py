"""tests/integration/test_delivery_tls_policy.py — MTA-STS (RFC 8461) and DANE (RFC 7672).

Real peers on loopback: policy_dns.py (dnslib) answers MX, A, the
"_mta-sts" TXT record and TLSA records, setting the AD bit exactly where
the zone says so; a Python HTTPS server (http.server + ssl) serves
/.well-known/mta-sts.txt with a certificate for mta-sts.DOMAIN from a test
CA made here by openssl (delivery.tls_ca_file trusts it; the DNS answers
mta-sts.DOMAIN with 127.0.0.1 and delivery.mta_sts_port names the server's
port); the receiving MX hosts are smtp_recorder.py with STARTTLS. Each case
checks where the message went (or that it went nowhere), the delivery log
line's tls_policy= and dsn, and the daemon's own log.
"""

import hashlib
import json
import ssl
import subprocess
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import free_port
from delivery_checks import SENDER, delivery_lines, message_with, send, wait_for, wait_lines
from delivery_fixtures import PYTHON, HERE, Child, mx_port, remote  # noqa: F401 - fixtures by name
from metrics_checks import parse, scrape, value

DELIVERY_TIMEOUT = 20.0
OPENSSL = "/usr/bin/openssl"
NO_METRICS = False


def openssl(*args, cwd):
    return subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60).stdout


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("policy-certs")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=ringmta policy test CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)

    def signed(name, dns_name):
        (d / f"{name}.ext").write_text(
            f"subjectAltName=DNS:{dns_name}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n")
        openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={dns_name}", cwd=d)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem", cwd=d)
        return (str(d / f"{name}.pem"), str(d / f"{name}.key"))

    def self_signed(name, dns_name):
        openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
                "-subj", f"/CN={dns_name}", "-addext", f"subjectAltName=DNS:{dns_name}", cwd=d)
        return (str(d / f"{name}.pem"), str(d / f"{name}.key"))

    return {"ca": str(d / "ca.pem"),
            "https": signed("https", "mta-sts.sts.test"),
            "mx_sts": signed("mxsts", "mx.sts.test"),
            "mx_dane": self_signed("mxdane", "mx.dane.test"),   # DANE-EE needs no CA
            "dir": d}


def spki_sha256(cert_path, cwd):
    """The TLSA 3 1 1 data of a certificate: SHA-256 of its SubjectPublicKeyInfo."""
    pub = openssl("x509", "-in", cert_path, "-noout", "-pubkey", cwd=cwd)
    der = subprocess.run([OPENSSL, "pkey", "-pubin", "-outform", "DER"], input=pub, check=True,
                         capture_output=True, timeout=60).stdout
    return hashlib.sha256(der).hexdigest()


class PolicyDns:
    def __init__(self, workdir):
        self.port = free_port()
        self.zone = workdir / "zone.json"
        self.set([])
        self.child = Child([PYTHON, HERE / "policy_dns.py", self.port, self.zone],
                           workdir / "policy-dns.log", ready_line="READY")

    def set(self, records):
        tmp = self.zone.with_suffix(".tmp")
        tmp.write_text(json.dumps(records))
        tmp.replace(self.zone)

    def server(self):
        return f"127.0.0.1:{self.port}"


@pytest.fixture
def policy_dns(tmp_path):
    server = PolicyDns(tmp_path)
    yield server
    server.child.stop()


class CountingHandler(SimpleHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        super().do_GET()


class PolicyServer:
    """HTTPS on 127.0.0.1:port serving ROOT/.well-known/mta-sts.txt; `requests` lists the paths asked for."""

    def __init__(self, root, cert):
        self.root = root
        (root / ".well-known").mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        handler = partial(CountingHandler, directory=str(root))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.httpd.requests = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert[0], cert[1])
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def policy(self, text):
        (self.root / ".well-known" / "mta-sts.txt").write_text(text)

    @property
    def requests(self):
        return list(self.httpd.requests)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def https(tmp_path, certs):
    server = PolicyServer(tmp_path / "www", certs["https"])
    yield server
    server.stop()


@pytest.fixture
def relay(daemon_factory, mx_port):
    def make(dns_server, delivery):
        settings = {
            "dns": {"servers": [dns_server], "timeout": "2s"},
            "delivery": {"port": mx_port, "connect_timeout": "2s", "command_timeout": "5s",
                         "data_timeout": "5s", "connection_idle_timeout": "1s",
                         "destination_down_time": "0s", **delivery},
            "queue": {"retry_schedule": ["1s"], "max_lifetime": "1h", "delay_warning": "0"},
        }
        return daemon_factory(settings)
    return make


def sts_zone(policy_id="1"):
    return [
        {"name": "sts.test", "type": "MX", "value": [10, "mx.sts.test"]},
        {"name": "mx.sts.test", "type": "A", "value": "127.0.0.2"},
        {"name": "_mta-sts.sts.test", "type": "TXT", "value": f"v=STSv1; id={policy_id};"},
        {"name": "mta-sts.sts.test", "type": "A", "value": "127.0.0.1"},
    ]


def policy_text(mode, mx):
    return f"version: STSv1\nmode: {mode}\nmx: {mx}\nmax_age: 86400\n"


def field(line, name):
    for f in line["line"].split(", "):
        if f.startswith(name + "="):
            return f[len(name) + 1:]
    return None


def one_line(daemon, qid, rcpt, status):
    wait_lines(daemon, 1, timeout=DELIVERY_TIMEOUT, qid=qid, rcpt=rcpt, status=status)
    return delivery_lines(daemon, qid=qid, rcpt=rcpt, status=status)[0]


def sts_settings(certs, https):
    return {"mta_sts": True, "mta_sts_port": https.port, "tls_ca_file": certs["ca"]}


# ---------------------------------------------------------------- MTA-STS

def test_mta_sts_enforce_good_certificate_delivers(relay, remote, policy_dns, https, certs, tmp_path):
    policy_dns.set(sts_zone())
    https.policy(policy_text("enforce", "mx.sts.test"))
    mx = remote("127.0.0.2", tls=certs["mx_sts"])
    d = relay(policy_dns.server(), sts_settings(certs, https))
    qid = send(d, SENDER, ["a@sts.test"], message_with("sts enforce good"))
    line = one_line(d, qid, "a@sts.test", "sent")
    assert field(line, "tls_policy") == "mta-sts", line["line"]
    assert (field(line, "tls") or "").startswith("TLSv1."), line["line"]
    [msg] = mx.messages()
    assert msg["tls"] != ""
    d.wait_log("mta-sts: sts.test: policy id 1 mode enforce")
    d.wait_log("certificate /CN=mx.sts.test trusted")
    # Kept durably: the policy file in DATA_DIR/mta-sts.
    cached = (d.data_dir / "mta-sts" / "sts.test").read_text()
    assert "mode: enforce" in cached and cached.splitlines()[1] == "1"


def test_mta_sts_enforce_mx_not_in_policy_defers(relay, remote, policy_dns, https, certs):
    policy_dns.set(sts_zone())
    https.policy(policy_text("enforce", "other.sts.test"))
    mx = remote("127.0.0.2", tls=certs["mx_sts"])
    d = relay(policy_dns.server(), sts_settings(certs, https))
    qid = send(d, SENDER, ["b@sts.test"], message_with("sts enforce mismatch"))
    line = one_line(d, qid, "b@sts.test", "deferred")
    assert line["dsn"] == "4.7.5", line["line"]
    assert line["reply"] == "MX host mx.sts.test is not in the MTA-STS policy of sts.test", line["line"]
    assert field(line, "tls_policy") == "mta-sts", line["line"]
    assert mx.connections() == 0 and mx.messages() == []
    assert d.queue_ids() == [qid]


def test_mta_sts_enforce_untrusted_certificate_defers(relay, remote, policy_dns, https, certs):
    policy_dns.set(sts_zone())
    https.policy(policy_text("enforce", "mx.sts.test"))
    mx = remote("127.0.0.2", tls=certs["mx_dane"])  # self-signed, and for another name
    d = relay(policy_dns.server(), sts_settings(certs, https))
    qid = send(d, SENDER, ["c@sts.test"], message_with("sts enforce bad cert"))
    line = one_line(d, qid, "c@sts.test", "deferred")
    assert line["dsn"] == "4.7.5", line["line"]
    assert "certificate verify failed" in line["reply"], line["line"]
    assert mx.messages() == []


def test_mta_sts_testing_logs_and_delivers(relay, remote, policy_dns, https, certs):
    policy_dns.set(sts_zone())
    https.policy(policy_text("testing", "other.sts.test"))
    mx = remote("127.0.0.2", tls=certs["mx_dane"])  # neither in the policy nor trusted
    d = relay(policy_dns.server(), sts_settings(certs, https))
    qid = send(d, SENDER, ["d@sts.test"], message_with("sts testing"))
    line = one_line(d, qid, "d@sts.test", "sent")
    assert field(line, "tls_policy") == "mta-sts", line["line"]
    assert len(mx.messages()) == 1
    d.wait_log("mta-sts: sts.test: testing policy: MX host mx.sts.test is not in the policy; delivering anyway")
    d.wait_log("mta-sts: sts.test: testing policy: TLS to mx.sts.test is not verified")


def test_mta_sts_policy_cached_until_the_id_changes_and_across_restarts(relay, remote, policy_dns, https, certs):
    policy_dns.set(sts_zone("1"))
    https.policy(policy_text("enforce", "mx.sts.test"))
    mx = remote("127.0.0.2", tls=certs["mx_sts"])
    # The policy is applied when a connection opens: one message per
    # connection here, so each message shows the policy of its own moment.
    d = relay(policy_dns.server(), {**sts_settings(certs, https), "max_messages_per_connection": 1})
    q1 = send(d, SENDER, ["j@sts.test"], message_with("sts cache 1"))
    one_line(d, q1, "j@sts.test", "sent")
    assert https.requests == ["/.well-known/mta-sts.txt"]
    # Same id: the cached policy holds, the server is not asked again.
    https.policy(policy_text("enforce", "other.sts.test"))
    q2 = send(d, SENDER, ["k@sts.test"], message_with("sts cache 2"))
    assert field(one_line(d, q2, "k@sts.test", "sent"), "tls_policy") == "mta-sts"
    assert len(https.requests) == 1
    # After a restart the policy comes from DATA_DIR/mta-sts, not the server.
    d.restart()
    q3 = send(d, SENDER, ["l@sts.test"], message_with("sts cache 3"))
    one_line(d, q3, "l@sts.test", "sent")
    assert len(https.requests) == 1
    # A new id: fetched again, and the new policy rules the MX host out.
    policy_dns.set(sts_zone("2"))
    q4 = send(d, SENDER, ["m@sts.test"], message_with("sts cache 4"))
    line = one_line(d, q4, "m@sts.test", "deferred")
    assert line["dsn"] == "4.7.5", line["line"]
    assert len(https.requests) == 2
    assert sorted(r for m in mx.messages() for r in m["rcpt_tos"]) == ["j@sts.test", "k@sts.test", "l@sts.test"]


def test_mta_sts_without_txt_record_is_opportunistic(relay, remote, policy_dns, https, certs):
    zone = [r for r in sts_zone() if r["type"] != "TXT"]
    policy_dns.set(zone)
    https.policy(policy_text("enforce", "other.sts.test"))  # would refuse, if it were looked at
    mx = remote("127.0.0.2", tls=certs["mx_sts"])
    d = relay(policy_dns.server(), sts_settings(certs, https))
    qid = send(d, SENDER, ["e@sts.test"], message_with("sts no txt"))
    line = one_line(d, qid, "e@sts.test", "sent")
    assert field(line, "tls_policy") == "opportunistic", line["line"]
    assert len(mx.messages()) == 1


# ---------------------------------------------------------------- DANE

def dane_zone(tlsa, ad=True):
    return [
        {"name": "dane.test", "type": "MX", "value": [10, "mx.dane.test"]},
        {"name": "mx.dane.test", "type": "A", "value": "127.0.0.3"},
        {"name": "_25._tcp.mx.dane.test", "type": "TLSA", "value": tlsa, "ad": ad},
    ]


def dane_settings(dns):
    return {"dane": True, "dnssec_resolver": dns.server()}


def test_dane_ee_matching_delivers(relay, remote, policy_dns, certs):
    digest = spki_sha256(certs["mx_dane"][0], certs["dir"])
    policy_dns.set(dane_zone([3, 1, 1, digest]))
    mx = remote("127.0.0.3", tls=certs["mx_dane"])
    d = relay(policy_dns.server(), dane_settings(policy_dns))
    qid = send(d, SENDER, ["f@dane.test"], message_with("dane good"))
    line = one_line(d, qid, "f@dane.test", "sent")
    assert field(line, "tls_policy") == "dane", line["line"]
    assert (field(line, "tls") or "").startswith("TLSv1."), line["line"]
    [msg] = mx.messages()
    assert msg["tls"] != ""
    d.wait_log("certificate /CN=mx.dane.test trusted")
    wait_for(lambda: value(parse(scrape(d)), "ringmta_delivery_tls_policy_total", policy="dane", result="ok") == 1,
             DELIVERY_TIMEOUT, "ringmta_delivery_tls_policy_total{policy=dane,result=ok} == 1", d)


def test_dane_trusts_the_dns_servers_without_a_dnssec_resolver(relay, remote, policy_dns, certs):
    # delivery.dane without dnssec_resolver: the [dns] servers' AD bit counts.
    policy_dns.set(dane_zone([3, 1, 1, "11" * 32]))
    mx = remote("127.0.0.3", tls=certs["mx_dane"])
    d = relay(policy_dns.server(), {"dane": True})
    qid = send(d, SENDER, ["n@dane.test"], message_with("dane dns servers"))
    line = one_line(d, qid, "n@dane.test", "deferred")
    assert field(line, "tls_policy") == "dane" and line["dsn"] == "4.7.5", line["line"]
    assert mx.messages() == []


def test_dane_tlsa_lookup_failure_defers(relay, remote, policy_dns, certs):
    # SERVFAIL from a validating resolver may mean bogus data: never plaintext.
    policy_dns.set(dane_zone([3, 1, 1, "00" * 32]) + [{"name": "_25._tcp.mx.dane.test", "rcode": "SERVFAIL"}])
    mx = remote("127.0.0.3", tls=certs["mx_dane"])
    d = relay(policy_dns.server(), dane_settings(policy_dns))
    qid = send(d, SENDER, ["o@dane.test"], message_with("dane servfail"))
    line = one_line(d, qid, "o@dane.test", "deferred")
    assert line["dsn"] == "4.7.5", line["line"]
    assert line["reply"].startswith("TLSA lookup for _25._tcp.mx.dane.test failed"), line["line"]
    assert mx.connections() == 0 and mx.messages() == []
    wait_for(lambda: value(parse(scrape(d)), "ringmta_delivery_tls_policy_total", policy="dane",
                           result="refused") >= 1, DELIVERY_TIMEOUT, "a refused dane connection counted", d)


def test_dane_mismatching_tlsa_defers(relay, remote, policy_dns, certs):
    policy_dns.set(dane_zone([3, 1, 1, "00" * 32]))
    mx = remote("127.0.0.3", tls=certs["mx_dane"])
    d = relay(policy_dns.server(), dane_settings(policy_dns))
    qid = send(d, SENDER, ["g@dane.test"], message_with("dane bad"))
    line = one_line(d, qid, "g@dane.test", "deferred")
    assert line["dsn"] == "4.7.5", line["line"]
    assert field(line, "tls_policy") == "dane", line["line"]
    assert "TLS handshake with mx.dane.test" in line["reply"], line["line"]
    assert mx.messages() == []


def test_dane_tlsa_without_ad_is_ignored(relay, remote, policy_dns, certs):
    policy_dns.set(dane_zone([3, 1, 1, "00" * 32], ad=False))  # would fail, if it counted
    mx = remote("127.0.0.3", tls=certs["mx_dane"])
    d = relay(policy_dns.server(), dane_settings(policy_dns))
    qid = send(d, SENDER, ["h@dane.test"], message_with("dane no ad"))
    line = one_line(d, qid, "h@dane.test", "sent")
    assert field(line, "tls_policy") == "opportunistic", line["line"]
    assert len(mx.messages()) == 1


def test_dane_before_mta_sts(relay, remote, policy_dns, https, certs):
    # Both published for the same MX: DANE decides (RFC 8461 §2) — here it
    # refuses a host that MTA-STS alone would have accepted.
    policy_dns.set(sts_zone() + [
        {"name": "_25._tcp.mx.sts.test", "type": "TLSA", "value": [3, 1, 1, "00" * 32], "ad": True}])
    https.policy(policy_text("enforce", "mx.sts.test"))
    mx = remote("127.0.0.2", tls=certs["mx_sts"])
    d = relay(policy_dns.server(), {**sts_settings(certs, https), **dane_settings(policy_dns)})
    qid = send(d, SENDER, ["i@sts.test"], message_with("dane over sts"))
    line = one_line(d, qid, "i@sts.test", "deferred")
    assert field(line, "tls_policy") == "dane", line["line"]
    assert line["dsn"] == "4.7.5", line["line"]
    assert mx.messages() == []
