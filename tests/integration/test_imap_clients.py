"""tests/integration/test_imap_clients.py — real IMAP clients against the
server (ringmta, or Dovecot to validate the tests; see imap_fixtures.py):
curl imap:// (STARTTLS) and imaps:// with --cacert; mbsync (isync) two-way
sync into a Maildir and back, a second run changes nothing; offlineimap3;
neomutt in batch mode (on a pseudo-terminal, keys pushed with -e, exits by
itself); imapflow (npm, tests/integration/node/) for IDLE and
CONDSTORE/QRESYNC. Debian packages curl isync offlineimap3 neomutt nodejs;
scripts/setup.sh installs them and runs the npm install; a missing tool skips.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from imap_fixtures import connect, imap_server, message, ok  # noqa: F401

NODE_DIR = Path(__file__).resolve().parent / "node"


def need(tool, package):
    path = shutil.which(tool)
    if not path:
        pytest.skip(f"{tool} not installed (Debian package {package}; scripts/setup.sh installs it)")
    return path


def run(args, timeout=120, **kw):
    cp = subprocess.run(args, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, **kw)
    out = cp.stdout.decode(errors="replace") + cp.stderr.decode(errors="replace")
    assert cp.returncode == 0, f"{args[0]} exited {cp.returncode}:\n{out[-4000:]}"
    return cp.stdout, out


def server_state(server, box="INBOX"):
    """{uid: (frozenset(flags), body)} of a mailbox, read with imaplib."""
    c = connect(server)
    ok(c.select(box, readonly=True))
    state = {}
    data = ok(c.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")) if ok(c.uid("SEARCH", "ALL"))[0] else []
    for part in data:
        if isinstance(part, tuple):
            uid = int(re.search(rb"UID (\d+)", part[0]).group(1))
            flags = re.search(rb"FLAGS \(([^)]*)\)", part[0]).group(1).split()
            state[uid] = (frozenset(f for f in flags if f != b"\\Recent"), part[1])
    c.logout()
    return state


def lf(data):
    return data.replace(b"\r\n", b"\n")


def without_trace(data):
    """LF text without the leading trace fields a delivery agent adds
    (Received:, Return-Path:, Delivered-To:; ringmta writes Received:)."""
    return re.sub(rb"\A(?:(?:Received|Return-Path|Delivered-To|X-Original-To):[^\n]*\n(?:[ \t][^\n]*\n)*)+", b"",
                  data, flags=re.I)


def maildir_text(data):
    """A message as a Maildir client keeps it: LF line ends, without the
    X-TUID: field mbsync adds to find its own copies, nor trace fields."""
    return without_trace(re.sub(rb"(?m)^X-TUID: [^\n]*\n", b"", lf(data)))


def test_curl_imap_starttls_and_imaps(imap_server):
    curl = need("curl", "curl")
    m = message(1)
    imap_server.deliver(imap_server.user, m)
    base = [curl, "-sS", "--max-time", "30", "--cacert", str(imap_server.ca_file),
            "-u", f"{imap_server.user}:{imap_server.password}"]
    # STARTTLS on the imap port (--ssl-reqd: curl fails rather than log in in clear).
    listing, _ = run(base + ["--ssl-reqd", f"imap://{imap_server.host}:{imap_server.port}/"])
    for box in (b"INBOX", b"Sent", b"Drafts", b"Trash", b"Junk", b"Archive"):
        assert re.search(rb'^\* LIST \([^)]*\) "/" "?' + box + rb'"?\r$', listing, re.M), listing
    uid = max(server_state(imap_server))
    body, _ = run(base + [f"imaps://{imap_server.host}:{imap_server.imaps_port}/INBOX;UID={uid}"])
    assert body.endswith(m) and imap_server.delivered_prefix_ok(body[:-len(m)]), body[:300]
    body2, _ = run(base + ["--ssl-reqd", f"imap://{imap_server.host}:{imap_server.port}/INBOX;UID={uid}"])
    assert body2 == body


def test_mbsync_two_way_and_idempotent(imap_server, tmp_path):
    mbsync = need("mbsync", "isync")
    sent = [message(i) for i in range(3)]
    for m in sent:
        imap_server.deliver(imap_server.user, m)
    local = tmp_path / "Mail"
    local.mkdir()
    rc = tmp_path / "mbsyncrc"
    rc.write_text(f"""IMAPAccount test
Host {imap_server.host}
Port {imap_server.imaps_port}
User {imap_server.user}
Pass {imap_server.password}
SSLType IMAPS
CertificateFile {imap_server.ca_file}
Timeout 30

IMAPStore remote
Account test

MaildirStore local
Path {local}/
Inbox {local}/INBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
""")

    def sync():
        _, out = run([mbsync, "-V", "-c", str(rc), "-a"])
        return out

    out1 = sync()
    inbox = local / "INBOX"
    files = sorted((inbox / "cur").iterdir()) + sorted((inbox / "new").iterdir())
    assert sorted(maildir_text(f.read_bytes()) for f in files) == sorted(lf(m) for m in sent), out1
    for box in ("Sent", "Drafts", "Trash", "Junk", "Archive"):
        assert (local / box / "cur").is_dir(), (box, out1)
    # Locally: flag one message (Maildir info ":2,F"), add a new one.
    target = files[0]
    flagged_body = maildir_text(target.read_bytes())
    base = target.name.split(":2,")[0]
    target.rename(target.parent.parent / "cur" / f"{base}:2,F")
    new = message(99, subject="written locally")
    (inbox / "new" / "1700000000.local1.host").write_bytes(lf(new))
    out2 = sync()
    state = server_state(imap_server)
    assert len(state) == 4, out2
    assert [b"\\Flagged" in fl for fl, body in state.values() if maildir_text(body) == flagged_body] == [True], state
    assert any(maildir_text(body) == lf(new) for _, body in state.values()), out2
    # A second run with nothing changed on either side changes nothing: the
    # server's mailbox, every local file (names carry the flags) and mbsync's
    # own sync state (UID pairs and flags) stay as they were.
    def local_snapshot():
        return {str(p.relative_to(local)): p.read_bytes() if p.name.startswith(".mbsyncstate") else None
                for p in local.rglob("*") if p.is_file()}
    before = local_snapshot()
    assert any(k.endswith("INBOX/.mbsyncstate") for k in before), sorted(before)
    out3 = sync()
    print("mbsync third run:\n" + out3)
    assert server_state(imap_server) == state
    assert local_snapshot() == before


def test_offlineimap3_sync(imap_server, tmp_path):
    oi = need("offlineimap", "offlineimap3")
    sent = [message(i) for i in range(3)]
    for m in sent:
        imap_server.deliver(imap_server.user, m)
    local = tmp_path / "oimap"
    rc = tmp_path / "offlineimaprc"
    rc.write_text(f"""[general]
accounts = test
metadata = {tmp_path}/oimap-meta
ui = basic

[Account test]
localrepository = local
remoterepository = remote

[Repository local]
type = Maildir
localfolders = {local}

[Repository remote]
type = IMAP
remotehost = {imap_server.host}
remoteport = {imap_server.imaps_port}
ssl = yes
sslcacertfile = {imap_server.ca_file}
remoteuser = {imap_server.user}
remotepass = {imap_server.password}
timeout = 30
""")
    env = dict(os.environ, HOME=str(tmp_path))

    def sync():
        return run([oi, "-c", str(rc), "-o", "-u", "basic"], env=env, timeout=180)[1]

    out = sync()
    inbox = local / "INBOX"
    files = sorted((inbox / "cur").iterdir()) + sorted((inbox / "new").iterdir())
    assert sorted(without_trace(lf(f.read_bytes())) for f in files) == sorted(lf(m) for m in sent), out
    assert (local / "Archive").is_dir() and (local / "Sent").is_dir(), sorted(local.iterdir())
    # Mark one read+flagged locally; the next run sets the flags on the server.
    f = files[0]
    body = lf(f.read_bytes())
    f.rename(inbox / "cur" / (f.name.split(":2,")[0] + ":2,FS"))
    out = sync()
    flags = [fl for fl, b in server_state(imap_server).values() if lf(b) == body]
    assert flags == [frozenset({b"\\Flagged", b"\\Seen"})], (flags, out)


def test_neomutt_batch_reads_inbox(imap_server, tmp_path):
    neomutt = need("neomutt", "neomutt")
    script = need("script", "bsdutils")
    sent = [message(i, subject=f"neomutt {i}") for i in range(3)]
    for m in sent:
        imap_server.deliver(imap_server.user, m)
    out_mbox = tmp_path / "saved.mbox"
    muttrc = tmp_path / "muttrc"
    muttrc.write_text(f"""set imap_user = "{imap_server.user}"
set imap_pass = "{imap_server.password}"
set ssl_ca_certificates_file = "{imap_server.ca_file}"
set ssl_force_tls = yes
set imap_passive = no
set confirmcreate = no
set confirmappend = no
set quit = yes
set mbox_type = mbox
set header_cache = ""
set message_cachedir = ""
set mark_old = no
set move = no
set timeout = 1
set folder = "{tmp_path}"
set record = ""
set postponed = ""
""")
    url = f"imaps://{imap_server.host}:{imap_server.imaps_port}/INBOX"
    keys = f"<tag-pattern>~A<enter><tag-prefix><copy-message>{out_mbox}<enter><quit>"
    cmd = f"{neomutt} -n -F {muttrc} -f {url} -e 'push \"{keys}\"'"
    env = dict(os.environ, HOME=str(tmp_path), TERM="vt100", COLUMNS="120", LINES="40")
    # neomutt needs a terminal: script(1) gives it a pseudo-terminal and ends with it.
    cp = subprocess.run([script, "-q", "-e", "-c", cmd, "/dev/null"], capture_output=True, timeout=120,
                        stdin=subprocess.DEVNULL, env=env)
    assert cp.returncode == 0 and out_mbox.exists(), (cp.returncode, cp.stdout[-3000:])
    saved = out_mbox.read_bytes()
    assert saved.count(b"\nFrom ") + saved.startswith(b"From ") == 3, saved[:2000]
    for m in sent:
        subject = re.search(rb"Subject: [^\r\n]+", m).group(0)
        assert subject in saved
        assert lf(m).split(b"\n\n", 1)[1] in saved
    # copy-message leaves the server's INBOX as it was.
    assert len(server_state(imap_server)) == 3


def npm_ready():
    need("node", "nodejs")
    npm = need("npm", "npm")
    if not (NODE_DIR / "node_modules" / "imapflow").is_dir():
        cp = subprocess.run([npm, "ci", "--offline", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                            capture_output=True, timeout=300)
        if cp.returncode != 0:  # not in npm's cache yet: fetch it (scripts/setup.sh does this once)
            cp = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True,
                                timeout=300)
            if cp.returncode != 0:  # no npm registry here: the one outside dependency of these tests
                pytest.skip("imapflow is not installed and `npm ci` failed (no npm registry?): "
                            + cp.stderr.decode(errors="replace")[-300:])


def imapflow(server, *args, wait=True):
    env = dict(os.environ, IMAP_HOST=server.host, IMAP_PORT=str(server.imaps_port), IMAP_USER=server.user,
               IMAP_PASS=server.password, IMAP_CA=str(server.ca_file), IMAP_TIMEOUT_MS="20000")
    cmd = [shutil.which("node"), str(NODE_DIR / "imapflow_check.mjs"), *args]
    if not wait:
        return subprocess.Popen(cmd, cwd=NODE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
    out, _ = run(cmd, cwd=NODE_DIR, env=env, timeout=60)
    return [json.loads(line) for line in out.decode().splitlines()]


def test_imapflow_idle_sees_delivery(imap_server):
    npm_ready()
    imap_server.deliver(imap_server.user, message(0))
    p = imapflow(imap_server, "idle", wait=False)
    try:
        ready = json.loads(p.stdout.readline())
        assert ready == {"event": "ready", "exists": 1}, ready
        imap_server.deliver(imap_server.user, message(1), wait=False)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
    assert p.returncode == 0, (out, err.decode(errors="replace"))
    assert json.loads(out.decode().splitlines()[0]) == {"event": "exists", "count": 2, "prevCount": 1,
                                                         "idling": True}


def test_imapflow_condstore_and_qresync(imap_server):
    npm_ready()
    for i in range(3):
        imap_server.deliver(imap_server.user, message(i))
    (before,) = imapflow(imap_server, "state")
    uids = before["uids"]
    assert len(uids) == 3 and int(before["highestModseq"]) > 0, before
    c = connect(imap_server)
    ok(c.select("INBOX"))
    ok(c.uid("STORE", str(uids[1]), "+FLAGS", "(\\Flagged)"))
    ok(c.uid("STORE", str(uids[2]), "+FLAGS", "(\\Deleted)"))
    ok(c.expunge())
    c.logout()
    (after,) = imapflow(imap_server, "changed", str(before["uidValidity"]), str(before["highestModseq"]))
    assert after["qresync"] is True and "QRESYNC" in after["enabled"], after
    assert after["vanished"] == [uids[2]], after  # VANISHED (EARLIER) at SELECT
    assert [c["uid"] for c in after["changed"]] == [uids[1]], after  # CHANGEDSINCE
    assert "\\Flagged" in after["changed"][0]["flags"]
    assert after["exists"] == 2 and int(after["highestModseq"]) > int(before["highestModseq"])
