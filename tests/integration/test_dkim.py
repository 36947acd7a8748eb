"""tests/integration/test_dkim.py — DKIM signing ([[dkim]]) checked by
independent verifiers on the message as delivered.

A ringmta with two [[dkim]] domains — rsa.test (rsa-sha256, 2048 bits) and
ed.test (ed25519-sha256) — whose keys `ringmtactl dkim keygen` made (mode
0600, the TXT record it prints is what the verifiers are given), relaying
everything to smtp_recorder.py on loopback. Mail is submitted with SMTP
AUTH (DATA and BDAT), with 8-bit bodies and long lines; the message the
recorder got is verified by

  * dkimpy (Debian python3-dkim): dkim.verify() with a dnsfunc that returns
    the TXT record keygen printed;
  * OpenDKIM's opendkim-testmsg (opendkim-tools), which verifies a message on
    stdin but looks its key up in DNS through the system resolver: it runs in
    its own mount and network namespace (unshare, root only) whose
    /etc/resolv.conf points at a small dnslib server on that namespace's
    private loopback, which serves the TXT record. Without unshare the
    OpenDKIM half is skipped (and says so).

And what must not be signed: unauthenticated mail from outside
relay.trusted_networks, and mail whose From: domain has no [[dkim]] table.
"""

import base64
import json
import os
import re
import shutil
import smtplib
import socket
import subprocess
import textwrap
import urllib.request

import dkim
import pytest

from auth_fixtures import USERS, make_users_file
from conftest import render_toml, ringmta_bin, ringmtactl_bin
from delivery_checks import wait_for
from delivery_fixtures import mx_port, remote  # noqa: F401 (fixtures)

TIMEOUT = 20.0
PYTHON = "/usr/bin/python3"
OPENDKIM_TESTMSG = "/usr/sbin/opendkim-testmsg"
USER, PASSWORD = "alice", USERS["alice"]
OUTSIDE = "127.0.0.5"  # a client address outside relay.trusted_networks (127.0.0.1/32)

# A body that canonicalisation must get right: 8-bit text, a long line (985
# characters: the recorder, like RFC 5321 §4.5.3.1.6, takes at most 998),
# trailing whitespace, runs of spaces and tabs, empty lines at the end.
BODY = (b"Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xe2\x80\x94 8-bit body.\r\n"
        b"spaces   and\ttabs \t \r\n"
        + b"long " * 197 + b"\r\n"
        b"\r\n.leading dot\r\n\r\n\r\n")


def keygen(tmp_path, domain, selector, algorithm):
    """ringmtactl dkim keygen; returns (key file, TXT record value)."""
    out = tmp_path / f"{selector}.{domain}.key"
    cp = subprocess.run([str(ringmtactl_bin()), "dkim", "keygen", domain, selector, "--algorithm", algorithm,
                         "--out", str(out)], capture_output=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    assert (os.stat(out).st_mode & 0o777) == 0o600
    line = cp.stdout.decode().strip()
    assert line.startswith(f"{selector}._domainkey.{domain}. IN TXT ("), line
    strings = re.findall(r'"([^"]*)"', line)
    assert all(len(s) <= 255 for s in strings)
    return out, "".join(strings)


@pytest.fixture
def signing(tmp_path, daemon_factory, remote, mx_port):  # noqa: F811
    """(daemon, recorder, {dns name: TXT value})."""
    rsa_key, rsa_txt = keygen(tmp_path, "rsa.test", "r2026", "rsa-sha256")
    ed_key, ed_txt = keygen(tmp_path, "ed.test", "e2026", "ed25519-sha256")
    recorder = remote("127.0.0.2")
    users = make_users_file(tmp_path / "users")
    d = daemon_factory({
        "auth": {"users_file": str(users), "failure_delay": "0"},
        "delivery": {"relayhost": f"[127.0.0.2]:{mx_port}", "connect_timeout": "2s",
                     "connection_idle_timeout": "1s"},
        "dkim": [{"domain": "rsa.test", "selector": "r2026", "key_file": str(rsa_key)},
                 {"domain": "ed.test", "selector": "e2026", "key_file": str(ed_key),
                  "algorithm": "ed25519-sha256"}],
    }, start=False)
    d.settings["listener"][0]["allow_plaintext_auth"] = True
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    records = {"r2026._domainkey.rsa.test.": rsa_txt, "e2026._domainkey.ed.test.": ed_txt}
    return d, recorder, records


def message(from_domain, subject, body=BODY):
    return (f"From: Sender <alice@{from_domain}>\r\n"
            f"To: Someone <someone@dest.test>\r\n"
            f"Subject: {subject}\r\n"
            f"Date: Mon, 07 Dec 2026 11:00:00 +0000\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@{from_domain}>\r\n"
            f"MIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n"
            f"Content-Transfer-Encoding: 8bit\r\n"
            f"\r\n").encode() + body


def send_data(port, msg, auth=True, source=None):
    with smtplib.SMTP("127.0.0.1", port, timeout=30,
                      source_address=(source, 0) if source else None) as s:
        s.ehlo("client.test")
        if auth:
            s.login(USER, PASSWORD)
        code, resp = s.mail("alice@client.test", ["BODY=8BITMIME"])
        assert code == 250, resp
        code, resp = s.rcpt("someone@dest.test")
        assert code == 250, resp
        code, resp = s.data(msg)
        assert code == 250, resp
        return resp.decode()


def send_bdat(port, msg, chunk=1000):
    """AUTH PLAIN, then the message in BDAT chunks (RFC 3030), the last one LAST."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        f = s.makefile("rb")

        def reply():
            lines = []
            while True:
                line = f.readline()
                assert line, "connection closed"
                lines.append(line)
                if line[3:4] != b"-":
                    return lines

        def cmd(data, code):
            s.sendall(data)
            r = reply()
            assert r[-1].startswith(str(code).encode()), (data[:60], r)
            return r

        reply()  # greeting
        ehlo = cmd(b"EHLO client.test\r\n", 250)
        assert any(b"CHUNKING" in line for line in ehlo)
        token = base64.b64encode(b"\0" + USER.encode() + b"\0" + PASSWORD.encode())
        cmd(b"AUTH PLAIN " + token + b"\r\n", 235)
        cmd(b"MAIL FROM:<alice@client.test> BODY=8BITMIME\r\n", 250)
        cmd(b"RCPT TO:<someone@dest.test>\r\n", 250)
        pieces = [msg[i:i + chunk] for i in range(0, len(msg), chunk)]
        for p in pieces[:-1]:
            cmd(b"BDAT %d\r\n" % len(p) + p, 250)
        last = cmd(b"BDAT %d LAST\r\n" % len(pieces[-1]) + pieces[-1], 250)
        cmd(b"QUIT\r\n", 221)
        return last[-1].decode()


def delivered(recorder, subject, daemon):
    """The message with this Subject as the recorder got it (not a bounce of it)."""
    needle = f"Subject: {subject}\r\n".encode()
    msgs = wait_for(lambda: [m for m in recorder.messages()
                             if needle in m["data"] and m["rcpt_tos"] != ["alice@client.test"]], TIMEOUT,
                    f"delivery of {subject!r}", daemon)
    return msgs[0]["data"]


def dkimpy_verify(msg, records):
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name if name.endswith(".") else name + ".", "").encode()
    return dkim.verify(msg, dnsfunc=dnsfunc)


# The DNS server inside the namespace: every TXT question for a known name
# gets its record (split in 255-byte strings), everything else NXDOMAIN.
DNS_SERVER = textwrap.dedent("""
    import json, socket, sys
    from dnslib import DNSRecord, RR, QTYPE, TXT, RCODE
    records = json.loads(sys.argv[1])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    print("READY", flush=True)
    for _ in range(1000):
        data, peer = s.recvfrom(4096)
        q = DNSRecord.parse(data)
        a = q.reply()
        name = str(q.q.qname)
        if name in records and q.q.qtype == QTYPE.TXT:
            v = records[name].encode()
            a.add_answer(RR(name, QTYPE.TXT, rdata=TXT([v[i:i + 255] for i in range(0, len(v), 255)]), ttl=60))
        elif name not in records:
            a.header.rcode = RCODE.NXDOMAIN
        s.sendto(a.pack(), peer)
""")

# Runs inside `unshare -mn`: loopback up, our resolv.conf, the DNS server,
# then opendkim-testmsg on the message (stdin). Its exit code is ours.
NAMESPACE_SCRIPT = textwrap.dedent("""
    set -e
    ip link set lo up
    mount --bind "$1" /etc/resolv.conf
    "$PYTHON" "$2" "$3" > "$4" 2>&1 &
    dns=$!
    for i in $(seq 50); do grep -q READY "$4" && break; sleep 0.1; done
    set +e
    "$OPENDKIM_TESTMSG"
    rc=$?
    kill $dns
    exit $rc
""")


def opendkim_can_run():
    if not os.path.exists(OPENDKIM_TESTMSG):
        return "opendkim-testmsg is not installed (apt install opendkim-tools)"
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return "opendkim-testmsg needs DNS: a private resolver needs unshare -mn (root)"
    return None


def opendkim_verify(msg, records, tmp_path):
    """opendkim-testmsg's exit code and output for `msg` (0 = the signature verified)."""
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:2 attempts:1\n")
    server = tmp_path / "dns_server.py"
    server.write_text(DNS_SERVER)
    script = tmp_path / "in_namespace.sh"
    script.write_text(NAMESPACE_SCRIPT)
    env = dict(os.environ, PYTHON=PYTHON, OPENDKIM_TESTMSG=OPENDKIM_TESTMSG)
    # opendkim-testmsg reads a message with LF line ends (as from a milter's file).
    cp = subprocess.run(["unshare", "-mn", "sh", str(script), str(resolv), str(server), json.dumps(records),
                         str(tmp_path / "dns.log")],
                        input=msg.replace(b"\r\n", b"\n"), capture_output=True, timeout=60, env=env)
    return cp.returncode, (cp.stdout + cp.stderr).decode(errors="replace")


def check_signed(msg, domain, selector, algorithm, records, tmp_path):
    assert msg.startswith(b"DKIM-Signature: "), msg[:200]
    sig_field = msg.split(b"\r\nReceived: ", 1)[0]
    assert f"d={domain};".encode() in sig_field and f"s={selector};".encode() in sig_field, sig_field
    assert f"a={algorithm};".encode() in sig_field, sig_field
    for line in sig_field.split(b"\r\n"):
        assert len(line) <= 78, line
    assert dkimpy_verify(msg, records), "dkimpy did not verify the signature"
    # A changed body must not verify (the check can fail).
    assert not dkimpy_verify(msg.replace(b"8-bit body", b"8-bit bodY"), records)
    why = opendkim_can_run()
    if why is None:
        rc, out = opendkim_verify(msg, records, tmp_path)
        assert rc == 0, f"opendkim-testmsg: rc={rc}\n{out}"
        rc, out = opendkim_verify(msg.replace(b"8-bit body", b"8-bit bodY"), records, tmp_path)
        # Refused for the signature, not for want of the key.
        assert rc != 0 and "Key retrieval failed" not in out, f"opendkim-testmsg on a changed body: rc={rc} {out}"
    return why


@pytest.mark.parametrize("domain,selector,algorithm", [("rsa.test", "r2026", "rsa-sha256"),
                                                        ("ed.test", "e2026", "ed25519-sha256")])
def test_signed_by_data_and_bdat_verify(signing, tmp_path, domain, selector, algorithm):
    d, recorder, records = signing
    send_data(d.port, message(domain, f"data {algorithm}"))
    send_bdat(d.port, message(domain, f"bdat {algorithm}"))
    skipped = None
    for how in ("data", "bdat"):
        msg = delivered(recorder, f"{how} {algorithm}", d)
        skipped = check_signed(msg, domain, selector, algorithm, records, tmp_path) or skipped
    # The accepted lines name the signature.
    d.wait_log(f"dkim={domain}/{selector}", count=2)
    if skipped:
        pytest.skip(f"dkimpy verified both; OpenDKIM half not run: {skipped}")


def test_over_signing_and_headers(signing, tmp_path):
    d, recorder, records = signing
    send_data(d.port, message("ed.test", "oversign"))
    msg = delivered(recorder, "oversign", d)
    sig = dkim.util.parse_tag_value(re.sub(rb"\r\n[ \t]", b" ", msg.split(b"\r\nReceived: ", 1)[0])
                                    [len(b"DKIM-Signature: "):])
    h = [x.strip() for x in sig[b"h"].replace(b" ", b"").split(b":")]
    for name in (b"from", b"to", b"subject", b"date"):
        assert h.count(name) == 2, h  # once for the field, once more (over-signed)
    assert h.count(b"message-id") == 1 and b"content-type" in h, h
    assert sig[b"c"] == b"relaxed/relaxed"
    # Over-signing at work: a second Subject added in transit breaks the signature.
    tampered = msg.replace(b"\r\nTo: ", b"\r\nSubject: added later\r\nTo: ", 1)
    assert dkimpy_verify(msg, records)
    assert not dkimpy_verify(tampered, records)


def test_not_signed_without_auth_from_outside_or_other_domain(signing):
    d, recorder, _ = signing
    # Outside relay.trusted_networks, no AUTH: only a local domain may be
    # reached (local.test is relayed like the rest here) — never signed.
    with smtplib.SMTP("127.0.0.1", d.port, timeout=30, source_address=(OUTSIDE, 0)) as s:
        s.ehlo("client.test")
        assert s.mail("alice@rsa.test")[0] == 250
        assert s.rcpt("someone@local.test")[0] == 250
        code, _ = s.data(message("rsa.test", "outside unauth"))
        assert code == 250
    # Authenticated, but the From: domain has no [[dkim]] table (nor does a subdomain).
    send_data(d.port, message("other.test", "other domain"))
    send_data(d.port, message("sub.rsa.test", "subdomain"))
    # Trusted network (127.0.0.1/32) without AUTH: signed.
    send_data(d.port, message("rsa.test", "trusted unauth"), auth=False)
    for subject in ("outside unauth", "other domain", "subdomain"):
        assert b"DKIM-Signature" not in delivered(recorder, subject, d), subject
    assert delivered(recorder, "trusted unauth", d).startswith(b"DKIM-Signature: ")


def test_metrics_count_signatures(signing):
    d, recorder, _ = signing
    send_data(d.port, message("ed.test", "metric one"))
    send_data(d.port, message("rsa.test", "metric two"))
    delivered(recorder, "metric two", d)
    text = urllib.request.urlopen(f"http://{d.settings['metrics']['listen']}/metrics", timeout=10).read().decode()
    assert 'ringmta_dkim_signed_total{domain="ed.test",algorithm="ed25519-sha256"} 1' in text, text
    assert 'ringmta_dkim_signed_total{domain="rsa.test",algorithm="rsa-sha256"} 1' in text
    assert "ringmta_dkim_sign_failures_total 0" in text


def test_bad_key_files_stop_the_start(tmp_path, daemon_factory):
    rsa_key, _ = keygen(tmp_path, "rsa.test", "r", "rsa-sha256")
    cases = [
        ({"key_file": str(tmp_path / "missing.key")}, "No such file or directory"),
        ({"key_file": str(rsa_key), "algorithm": "ed25519-sha256"}, "needs an Ed25519 key, this is an RSA key"),
    ]
    loose = tmp_path / "loose.key"
    loose.write_bytes(rsa_key.read_bytes())
    os.chmod(loose, 0o644)
    cases.append(({"key_file": str(loose)}, "mode 0644"))
    for i, (extra, needle) in enumerate(cases):
        d = daemon_factory({"dkim": [{"domain": "rsa.test", "selector": "r", **extra}]}, start=False,
                           name=f"bad{i}")
        cp = subprocess.run([str(ringmta_bin()), "--config", str(d.config_path)], capture_output=True, timeout=60,
                            cwd=d.workdir)
        assert cp.returncode != 0
        assert needle in (cp.stdout + cp.stderr).decode(), (needle, cp.stdout, cp.stderr)
