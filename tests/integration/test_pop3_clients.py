"""tests/integration/test_pop3_clients.py — real POP3 clients against the
daemon: curl (pop3:// with STLS, pop3s://), fetchmail and mpop (Debian
packages; scripts/setup.sh installs them, the tests skip with a message when
they are missing) fetch byte-exact messages and delete them. Messages are
stored with tests/tools/mailbox_seed (see pop3_fixtures.py).
"""

import os
import shutil
import subprocess

import pytest

from pop3_fixtures import TRICKY, USERS, message, pop3_daemon, pop3s

ALICE = "alice@local.test"
MSGS = [TRICKY, message(1, ["second"] * 10), message(2, [f"line {i}" for i in range(3000)])]


def need(tool, package):
    path = shutil.which(tool)
    if not path:
        pytest.skip(f"{tool} not installed (Debian package {package}; scripts/setup.sh installs it)")
    return path


def curl(*args):
    cp = subprocess.run([need("curl", "curl"), "-sS", "--max-time", "30", *args], capture_output=True, timeout=60)
    assert cp.returncode == 0, cp.stderr.decode(errors="replace")
    return cp.stdout


def remaining(d, login="alice"):
    p = pop3s(d)
    p.user(login)
    p.pass_(USERS[login])
    n = p.stat()[0]
    p.quit()
    return n


def lf(data):
    return data.replace(b"\r\n", b"\n")


def test_curl_pop3_stls_and_pop3s(daemon_factory, tmp_path):
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: MSGS})
    cred = ["-u", f"alice:{USERS['alice']}", "--insecure"]
    # STLS (--ssl-reqd: plaintext logins are refused, so TLS really ran); curl
    # logs in with AUTH PLAIN, which CAPA offers.
    for i, m in enumerate(MSGS):
        assert curl("--ssl-reqd", *cred, f"pop3://127.0.0.1:{d.pop3_port}/{i + 1}") == m
    listing = curl(*cred, f"pop3s://127.0.0.1:{d.pop3s_port}/")
    assert listing == b"".join(f"{i + 1} {len(m)}\r\n".encode() for i, m in enumerate(MSGS))
    assert curl(*cred, "--login-options", "AUTH=PLAIN", f"pop3s://127.0.0.1:{d.pop3s_port}/2") == MSGS[1]
    # DELE through curl's custom request (no body expected), then it is gone.
    curl(*cred, "-X", "DELE", "-I", f"pop3s://127.0.0.1:{d.pop3s_port}/1")
    assert remaining(d) == 2


@pytest.mark.parametrize("stls", [False, True])
def test_fetchmail_fetches_and_deletes(daemon_factory, tmp_path, stls):
    fetchmail = need("fetchmail", "fetchmail")
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: MSGS})
    out = tmp_path / "fetched"
    out.mkdir()
    rc = tmp_path / "fetchmailrc"
    tls = "sslproto 'TLS1.2+' no sslcertck" if stls else "ssl no sslcertck"
    rc.write_text(f'poll 127.0.0.1 service {d.pop3_port if stls else d.pop3s_port} protocol pop3 timeout 30\n'
                  f'  user "alice" password "{USERS["alice"]}" {tls}\n'
                  f'  mda "/bin/sh -c \'cat > {out}/msg.$$\'"\n')
    rc.chmod(0o600)
    env = dict(os.environ, HOME=str(tmp_path), FETCHMAILHOME=str(tmp_path))
    cp = subprocess.run([fetchmail, "-f", str(rc), "--invisible", "--nosyslog", "-v"], capture_output=True,
                        timeout=120, env=env)
    assert cp.returncode == 0, cp.stdout.decode(errors="replace") + cp.stderr.decode(errors="replace")
    got = sorted(f.read_bytes() for f in out.iterdir())
    # fetchmail hands the MDA LF line ends; the content is otherwise exact.
    assert got == sorted(lf(m) for m in MSGS)
    assert remaining(d) == 0


@pytest.mark.parametrize("starttls", [True, False])
def test_mpop_fetches_and_deletes(daemon_factory, tmp_path, starttls):
    mpop = need("mpop", "mpop")
    d = pop3_daemon(daemon_factory, tmp_path, seeds={ALICE: MSGS})
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    conf = tmp_path / "mpoprc"
    conf.write_text(f"account default\nhost 127.0.0.1\nport {d.pop3_port if starttls else d.pop3s_port}\n"
                    f"user alice\npassword {USERS['alice']}\nauth {'user' if starttls else 'plain'}\n"
                    f"tls on\ntls_starttls {'on' if starttls else 'off'}\ntls_certcheck off\n"
                    f"delivery maildir {maildir}\nkeep off\nuidls_file {tmp_path}/uidls\ntimeout 30\n")
    conf.chmod(0o600)
    cp = subprocess.run([mpop, f"--file={conf}", "-q", "-a"], capture_output=True, timeout=120,
                        env=dict(os.environ, HOME=str(tmp_path)))
    assert cp.returncode == 0, cp.stdout.decode(errors="replace") + cp.stderr.decode(errors="replace")
    got = sorted(lf(f.read_bytes()) for f in (maildir / "new").iterdir())
    assert len(got) == len(MSGS)
    # mpop adds its own Received: line at the top; the message follows exactly.
    for m in sorted(lf(x) for x in MSGS):
        assert any(g.endswith(m) for g in got), m[:80]
    assert remaining(d) == 0
