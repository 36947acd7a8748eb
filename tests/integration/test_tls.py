"""tests/integration/test_tls.py — inbound TLS with real clients.

STARTTLS on smtp/submission listeners and implicit TLS on submissions, driven
by swaks (--tls, --tls-on-connect), `openssl s_client` and Python's smtplib /
ssl; the STARTTLS command-injection case on a raw socket; TLS 1.0/1.1
refused; SNI; certificate reload on SIGHUP (old connections keep working);
the self-signed certificate made on first start; session resumption (on and
off, and ringmta_tls_resumed_total). Certificates for the tests
are made with the openssl CLI in the test's temporary directory.

AUTH is not used here: messages go through the smtp listener, and the
submission listeners are only checked up to EHLO (they require AUTH).
"""

import shutil
import signal
import smtplib
import socket
import ssl
import stat
import subprocess
import time

import pytest

from conftest import IO_TIMEOUT, RawSmtp, dead_port, free_port, make_message, render_toml, ringmta_bin, smtplib_send
from metrics_checks import parse, scrape, value

OPENSSL = shutil.which("openssl")


def make_cert(directory, name, cn):
    """An EC P-256 self-signed certificate + key for `cn`; returns (cert, key) paths."""
    cert, key = directory / f"{name}-cert.pem", directory / f"{name}-key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName=DNS:{cn}"],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def client_context(minimum=ssl.TLSVersion.TLSv1_2, maximum=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # self-signed test certificates; subjects are checked instead
    ctx.minimum_version = minimum
    if maximum:
        ctx.maximum_version = maximum
    return ctx


def subject_of(der):
    """'CN = x' of a DER certificate, via the openssl CLI."""
    out = subprocess.run([OPENSSL, "x509", "-inform", "DER", "-noout", "-subject", "-nameopt", "oneline"],
                         input=der, capture_output=True, check=True, timeout=10).stdout.decode()
    return out.strip().removeprefix("subject=").strip()


def implicit_tls(port, server_name=None, ctx=None):
    """A TLS socket to an implicit-TLS port (handshake done)."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    return (ctx or client_context()).wrap_socket(raw, server_hostname=server_name)


def read_reply(f):
    """One SMTP reply from a file object -> (code, [lines])."""
    lines = []
    while True:
        line = f.readline().decode().rstrip("\r\n")
        assert len(line) >= 4, f"short reply line {line!r}"
        lines.append(line)
        if line[3] == " ":
            return int(line[:3]), lines


def starttls_subject(port, server_name=None):
    """STARTTLS with smtplib and return the certificate subject the server sent."""
    with smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT) as c:
        c.ehlo("client.test")
        if server_name:
            c._host = server_name  # smtplib sends its connect host as SNI
        c.starttls(context=client_context())
        return subject_of(c.sock.getpeercert(binary_form=True))


def held_overrides(extra=None):
    """Settings that keep accepted mail in the queue (the relayhost refuses
    connections, so delivery defers) so that `queue cat` can read it."""
    o = {"delivery": {"relayhost": f"[127.0.0.1]:{dead_port()}"}}
    o.update(extra or {})
    return o


def wait_for_log(daemon, text, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in daemon.log():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def tls_daemon(daemon_factory, tmp_path):
    """smtp + submission + submissions listeners, a configured certificate."""
    cert, key = make_cert(tmp_path, "main", "mx.test.example")
    sub, subs = free_port(), free_port()
    d = daemon_factory(start=False, overrides=held_overrides(
        {"tls": {"certificate": str(cert), "private_key": str(key)}}))
    d.settings["listener"] += [{"address": f"127.0.0.1:{sub}", "kind": "submission"},
                               {"address": f"127.0.0.1:{subs}", "kind": "submissions"}]
    d.config_path.write_text(render_toml(d.settings))
    d.submission_port, d.submissions_port = sub, subs
    d.start()
    return d


def test_smtplib_starttls_and_received_header(tls_daemon):
    d = tls_daemon
    with smtplib.SMTP("127.0.0.1", d.port, timeout=IO_TIMEOUT) as c:
        c.ehlo("client.test")
        assert c.has_extn("starttls")
        code, _ = c.starttls(context=client_context())
        assert code == 220
        assert c.sock.version() == "TLSv1.3"
        cipher = c.sock.cipher()[0]
        c.ehlo("client.test")
        assert not c.has_extn("starttls"), "STARTTLS must not be offered again once TLS is active"
        qid = smtplib_send(c, "sender@client.test", ["rcpt@local.test"], make_message(1))
    stored = d.queue_cat(qid).decode()
    assert f"with ESMTPS (TLS1.3 {cipher}) id {qid}" in stored, stored[:400]
    assert wait_for_log(d, f": TLS TLSv1.3 {cipher}")


def test_plaintext_session_has_no_tls_in_received(tls_daemon):
    d = tls_daemon
    with smtplib.SMTP("127.0.0.1", d.port, timeout=IO_TIMEOUT) as c:
        c.ehlo("client.test")
        qid = smtplib_send(c, "sender@client.test", ["rcpt@local.test"], make_message(2))
    stored = d.queue_cat(qid).decode()
    assert f"with ESMTP id {qid}" in stored, stored[:400]


def test_swaks_tls(tls_daemon):
    cp = subprocess.run(["swaks", "--server", f"127.0.0.1:{tls_daemon.port}", "--tls", "--from",
                         "sender@client.test", "--to", "rcpt@local.test", "--helo", "client.test"],
                        capture_output=True, timeout=60)
    out = cp.stdout.decode(errors="replace")
    assert cp.returncode == 0, out
    assert "TLS started with cipher TLSv1.3" in out, out
    assert "queued as" in out


def test_swaks_tls_on_connect_submissions(tls_daemon):
    cp = subprocess.run(["swaks", "--server", f"127.0.0.1:{tls_daemon.submissions_port}", "--tls-on-connect",
                         "--quit-after", "EHLO", "--helo", "client.test"],
                        capture_output=True, timeout=60)
    out = cp.stdout.decode(errors="replace")
    assert cp.returncode == 0, out
    assert "TLS started with cipher TLSv1.3" in out, out
    assert "<~  220 mx.test.example ESMTP" in out, out  # the greeting came over TLS
    assert "STARTTLS" not in out.split("EHLO client.test", 1)[1], "implicit TLS must not offer STARTTLS"


def test_openssl_s_client_starttls(tls_daemon):
    cp = subprocess.run([OPENSSL, "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{tls_daemon.port}",
                         "-brief", "-ign_eof"],
                        input=b"EHLO client.test\r\nNOOP\r\nQUIT\r\n", capture_output=True, timeout=30)
    out = (cp.stdout + cp.stderr).decode(errors="replace")
    assert "Protocol version: TLSv1.3" in out, out
    assert "250 2.0.0 Ok" in out and "221 2.0.0 Bye" in out, out


def test_submission_offers_starttls_submissions_waits_for_handshake(tls_daemon):
    with RawSmtp(tls_daemon.submission_port) as s:
        _, text = s.greet_ehlo()
        assert "STARTTLS" in text.split("\n")
    # Implicit TLS: no plaintext greeting; plaintext input ends the connection.
    with RawSmtp(tls_daemon.submissions_port) as s:
        s.sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.sock.recv(100)
        s.send("EHLO client.test\r\n")
        assert s.closed_by_peer(timeout=5)
    assert wait_for_log(tls_daemon, "TLS handshake failed")


def test_tls12_uses_ecdhe_aead(tls_daemon):
    with implicit_tls(tls_daemon.submissions_port, ctx=client_context(maximum=ssl.TLSVersion.TLSv1_2)) as t:
        assert t.version() == "TLSv1.2"
        name = t.cipher()[0]
        assert name.startswith("ECDHE-") and ("GCM" in name or "CHACHA20" in name), name


@pytest.mark.parametrize("flag", ["-tls1_1", "-tls1"])
def test_old_tls_versions_refused(tls_daemon, flag):
    # SECLEVEL=0 makes the client really offer the old version (OpenSSL 3
    # would otherwise refuse locally and the server would never be asked).
    for args in (["-starttls", "smtp", "-connect", f"127.0.0.1:{tls_daemon.port}"],
                 ["-connect", f"127.0.0.1:{tls_daemon.submissions_port}"]):
        cp = subprocess.run([OPENSSL, "s_client", flag, "-cipher", "DEFAULT:@SECLEVEL=0", *args],
                            input=b"QUIT\r\n", capture_output=True, timeout=30)
        out = (cp.stdout + cp.stderr).decode(errors="replace")
        assert cp.returncode != 0, out
        assert "alert protocol version" in out or "unsupported protocol" in out, out
    assert wait_for_log(tls_daemon, "unsupported protocol")


def test_starttls_injection_is_not_executed(tls_daemon):
    """RFC 3207 / CVE-2011-0411: commands pipelined after STARTTLS in plaintext
    must never be answered, neither before nor after the handshake."""
    with RawSmtp(tls_daemon.port) as s:
        s.greet_ehlo()
        s.send("STARTTLS\r\nRSET\r\nMAIL FROM:<evil@attacker.test>\r\n")  # one write
        code, _ = s.reply()
        assert code == 220
        assert s.buf == b"", f"plaintext after the 220: {s.buf!r}"
        s.sock.settimeout(1.0)
        with pytest.raises(socket.timeout):
            extra = s.sock.recv(100)
            pytest.fail(f"server answered injected plaintext: {extra!r}")
        s.sock.settimeout(IO_TIMEOUT)
        t = client_context().wrap_socket(s.sock, server_hostname="mx.test.example")
        f = t.makefile("rwb")
        # The injected MAIL was not executed: RCPT has no transaction, and
        # the session was reset (EHLO is needed again).
        f.write(b"RCPT TO:<rcpt@local.test>\r\n")
        f.flush()
        assert read_reply(f)[0] == 503
        f.write(b"EHLO client.test\r\n")
        f.flush()
        code, lines = read_reply(f)
        assert code == 250 and not any("STARTTLS" in l for l in lines), lines
        f.write(b"QUIT\r\n")
        f.flush()
        assert read_reply(f)[0] == 221
        t.close()


def test_injection_in_separate_segment_kills_the_handshake(tls_daemon):
    """Plaintext sent after STARTTLS but before the 220 arrives in a later read:
    it reaches the TLS engine as garbage and ends the connection, unanswered."""
    with RawSmtp(tls_daemon.port) as s:
        s.greet_ehlo()
        s.send("STARTTLS\r\n")
        time.sleep(0.2)
        s.send("RSET\r\n")
        code, _ = s.reply()
        assert code == 220
        assert s.closed_by_peer(timeout=5)
        assert b"250" not in s.buf


def test_sni_selects_certificate(daemon_factory, tmp_path):
    main_cert, main_key = make_cert(tmp_path, "main", "mx.test.example")
    sni_cert, sni_key = make_cert(tmp_path, "sni", "smtp.other.test")
    subs = free_port()
    d = daemon_factory(start=False, overrides={"tls": {"certificate": str(main_cert), "private_key": str(main_key)}})
    d.settings["listener"].append({"address": f"127.0.0.1:{subs}", "kind": "submissions"})
    text = render_toml(d.settings) + (f'\n[[tls.sni]]\nnames = ["smtp.other.test", "*.wild.test"]\n'
                                      f'certificate = "{sni_cert}"\nprivate_key = "{sni_key}"\n')
    d.config_path.write_text(text)
    d.start()
    for name, want in [("smtp.other.test", "CN = smtp.other.test"), ("a.wild.test", "CN = smtp.other.test"),
                       ("mx.test.example", "CN = mx.test.example"), ("unknown.test", "CN = mx.test.example")]:
        with implicit_tls(subs, server_name=name) as t:
            assert subject_of(t.getpeercert(binary_form=True)) == want, name
    assert starttls_subject(d.port, "smtp.other.test") == "CN = smtp.other.test"
    assert wait_for_log(d, "sni=a.wild.test")


def test_sighup_reloads_certificate_without_dropping_connections(daemon_factory, tmp_path):
    live_cert, live_key = tmp_path / "live-cert.pem", tmp_path / "live-key.pem"
    old_cert, old_key = make_cert(tmp_path, "old", "old.test")
    new_cert, new_key = make_cert(tmp_path, "new", "new.test")
    shutil.copy(old_cert, live_cert)
    shutil.copy(old_key, live_key)
    d = daemon_factory(overrides=held_overrides({"tls": {"certificate": str(live_cert), "private_key": str(live_key)}}))
    assert starttls_subject(d.port) == "CN = old.test"

    # A TLS session open across the reloads.
    held = smtplib.SMTP("127.0.0.1", d.port, timeout=IO_TIMEOUT)
    held.ehlo("client.test")
    held.starttls(context=client_context())
    held.ehlo("client.test")

    # A broken file: the reload fails, the old certificate stays.
    live_cert.write_text("not a certificate\n")
    d.proc.send_signal(signal.SIGHUP)
    assert wait_for_log(d, "TLS certificate reload failed")
    assert starttls_subject(d.port) == "CN = old.test"

    shutil.copy(new_cert, live_cert)
    shutil.copy(new_key, live_key)
    d.proc.send_signal(signal.SIGHUP)
    assert wait_for_log(d, "TLS certificates reloaded (generation 2)")
    assert starttls_subject(d.port) == "CN = new.test"

    # The connection from before both reloads still works, with its old certificate.
    assert subject_of(held.sock.getpeercert(binary_form=True)) == "CN = old.test"
    assert held.noop()[0] == 250
    qid = smtplib_send(held, "sender@client.test", ["rcpt@local.test"], make_message(3))
    held.quit()
    assert qid in d.queue_ids()
    assert d.running()


def test_self_signed_certificate_created_once(daemon_factory):
    d = daemon_factory()  # no [tls]: self-signed for server.hostname
    cert, key = d.data_dir / "selfsigned-cert.pem", d.data_dir / "selfsigned-key.pem"
    assert cert.is_file() and key.is_file()
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "newly created self-signed certificate for mx.test.example" in d.log()
    assert starttls_subject(d.port) == "CN = mx.test.example"
    before = cert.read_bytes()
    d.restart()
    assert cert.read_bytes() == before, "the self-signed certificate must be reused"
    assert "using the self-signed certificate for mx.test.example" in d.log()
    assert starttls_subject(d.port) == "CN = mx.test.example"


def test_bad_certificate_stops_start(daemon_factory, tmp_path):
    cert, key = make_cert(tmp_path, "a", "a.test")
    _, other_key = make_cert(tmp_path, "b", "b.test")
    for c, k, why in [(tmp_path / "missing.pem", key, "missing.pem"), (cert, other_key, "mismatch")]:
        d = daemon_factory(start=False, overrides={"tls": {"certificate": str(c), "private_key": str(k)}})
        cp = subprocess.run([str(ringmta_bin()), "--config", str(d.config_path)], cwd=d.workdir,
                            capture_output=True, timeout=30)
        err = cp.stderr.decode(errors="replace")
        assert cp.returncode == 1, err
        assert "cannot load the TLS certificate" in err and why in err, err


def tls_round(port, ctx, session=None):
    """Implicit TLS, greeting, EHLO, QUIT -> (session_reused, the session to offer next time).
    The EHLO reply is read first: a TLS 1.3 server sends its tickets after the handshake."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
    with ctx.wrap_socket(raw, session=session) as s, s.makefile("rb") as f:
        assert read_reply(f)[0] == 220
        s.sendall(b"EHLO client.test\r\n")
        assert read_reply(f)[0] == 250
        s.sendall(b"QUIT\r\n")
        assert read_reply(f)[0] == 221
        return s.session_reused, s.session


@pytest.mark.parametrize("resumption", [True, False])
def test_sessions_resumed_and_counted(daemon_factory, tmp_path, resumption):
    cert, key = make_cert(tmp_path, "main", "mx.test.example")
    port = free_port()
    d = daemon_factory(start=False, overrides=held_overrides(
        {"tls": {"certificate": str(cert), "private_key": str(key), "resumption": resumption}}))
    d.settings["listener"] += [{"address": f"127.0.0.1:{port}", "kind": "submissions"}]
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    ctx = client_context()
    reused, session = tls_round(port, ctx)
    assert not reused and session is not None
    reused, _ = tls_round(port, ctx, session)
    assert reused == resumption
    want = 1 if resumption else 0
    deadline = time.monotonic() + 10
    while value(parse(scrape(d)), "ringmta_tls_resumed_total", direction="inbound") != want:
        assert time.monotonic() < deadline, "ringmta_tls_resumed_total{direction=inbound} != %d" % want
        time.sleep(0.2)
    assert value(parse(scrape(d)), "ringmta_tls_handshakes_total", direction="inbound", version="TLSv1.3",
                 result="success") == 2
