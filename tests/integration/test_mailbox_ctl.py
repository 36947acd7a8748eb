"""tests/integration/test_mailbox_ctl.py — `ringmtactl mailbox ...` against a
real daemon: import a Maildir (made here, with flags, dates and a Maildir++
folder) and an mbox (mboxrd, with >From lines) into a running daemon, see
them in `mailbox list/show`, export them again as Maildir and mbox and
compare byte for byte (imports are normalised to CRLF line ends, as SMTP
delivery stores mail; mbox export writes LF), purge, and the clear errors:
unknown user, bad paths, a user not in the users file, no daemon.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

from auth_fixtures import auth_daemon
from conftest import render_toml, ringmtactl_bin

USER = "alice@local.test"  # USERS' "alice" of auth_fixtures, at the first local domain


def ctl(d, *args, check=True):
    """ringmtactl --config (local domains, users file, admin socket) args..."""
    cp = subprocess.run([str(ringmtactl_bin()), "--config", str(d.config_path), *args],
                        stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if check:
        assert cp.returncode == 0, f"ringmtactl {' '.join(args)}: {cp.returncode} {cp.stderr.decode()}"
    return cp


def to_crlf(b):
    """What import stores (tools/mailbox_formats.h to_crlf)."""
    out = b.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    return out if out.endswith(b"\r\n") else out + b"\r\n"


def show(d, user=USER):
    return json.loads(ctl(d, "mailbox", "show", user, "--json").stdout)


def write_msg(path, data, mtime):
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))


# Maildir test data: (folder, sub, file name, body, mtime, expected flags)
T0 = 1_700_000_000
MAILDIR = [
    ("", "cur", "1700000000.M1P1.old,S=50:2,S", b"Subject: seen\nFrom: A <a@x.test>\n\nread it\n", T0, ["\\Seen"]),
    ("", "cur", "1700000100.M2P1.old:2,FRS", b"Subject: answered flagged\n\nx\n", T0 + 100,
     ["\\Seen", "\\Answered", "\\Flagged"]),
    ("", "cur", "1700000200.M3P1.old:2,DT", b"Subject: draft deleted\r\n\r\ncrlf already\r\n", T0 + 200,
     ["\\Deleted", "\\Draft"]),
    ("", "new", "1700000300.M4P1.old", b"Subject: new one\n\nno final newline", T0 + 300, []),
    (".Sent", "cur", "1700000400.M5P1.old:2,S", b"Subject: sent\n\nbinary \xff\xfe ok\n", T0 + 400, ["\\Seen"]),
]


def make_maildir(root):
    for folder, sub, name, body, mtime, _ in MAILDIR:
        base = root / folder if folder else root
        for s in ("cur", "new", "tmp"):
            (base / s).mkdir(parents=True, exist_ok=True)
        write_msg(base / sub / name, body, mtime)
    return root


# An mbox in exactly the form `mailbox export --mbox` writes (LF, mboxrd,
# "From MAILER-DAEMON <asctime UTC>"), so the round trip is the same bytes.
MBOX = (b"From MAILER-DAEMON Tue Nov 14 22:13:20 2023\n"
        b"Subject: first\n\n>From the start of a line\n>>From deeper\nplain\n\n"
        b"From MAILER-DAEMON Wed Nov 15 22:13:20 2023\n"
        b"Subject: second\n\nbody\n\n")


@pytest.fixture
def mdaemon(daemon_factory, tmp_path):
    d = auth_daemon(daemon_factory, tmp_path, start=False)
    d.settings["mailbox"] = {"enabled": True}
    d.config_path.write_text(render_toml(d.settings))
    d.start()
    return d


def test_import_show_export_roundtrip(mdaemon, tmp_path):
    d = mdaemon
    src = make_maildir(tmp_path / "Maildir")
    cp = ctl(d, "mailbox", "import", "alice", "--maildir", str(src))
    out = cp.stdout.decode()
    assert f"imported 4 message(s) into INBOX of {USER}" in out, out
    assert f"imported 1 message(s) into Sent of {USER}" in out, out

    (tmp_path / "in.mbox").write_bytes(MBOX)
    cp = ctl(d, "mailbox", "import", USER, "--mbox", str(tmp_path / "in.mbox"), "--mailbox", "Archive")
    assert "imported 2 message(s) into Archive" in cp.stdout.decode()

    # list: the user with every message and byte.
    sizes = [len(to_crlf(m[3])) for m in MAILDIR] + [
        len(to_crlf(b"Subject: first\n\nFrom the start of a line\n>From deeper\nplain\n")),
        len(to_crlf(b"Subject: second\n\nbody\n"))]
    rows = [json.loads(l) for l in ctl(d, "mailbox", "list", "--json").stdout.decode().splitlines()]
    assert rows == [{"user": USER, "messages": 7, "bytes": sum(sizes)}]
    table = ctl(d, "mailbox", "list").stdout.decode()
    assert USER in table and "total: 1 user(s)" in table

    # show: mailboxes, UIDs in file order, flags, INTERNALDATE from mtime / From_ line.
    s = show(d)
    assert s["messages"] == 7
    boxes = {b["name"]: b for b in s["mailboxes"]}
    assert set(boxes) == {"INBOX", "Sent", "Archive"}
    inbox = boxes["INBOX"]
    assert inbox["uidnext"] == 5 and inbox["messages"] == 4 and inbox["uidvalidity"] > 0
    assert [m["uid"] for m in inbox["list"]] == [1, 2, 3, 4]
    for m, src_msg in zip(inbox["list"], MAILDIR[:4]):
        assert sorted(m["flags"]) == sorted(src_msg[5]), m
        assert m["date_ms"] == src_msg[4] * 1000
        assert m["size"] == len(to_crlf(src_msg[3]))
    assert inbox["list"][0]["subject"] == "seen" and inbox["list"][0]["from"] == "A <a@x.test>"
    assert boxes["Sent"]["list"][0]["subject"] == "sent"
    assert [m["date_ms"] for m in boxes["Archive"]["list"]] == [1_700_000_000_000, 1_700_086_400_000]
    assert boxes["Archive"]["uidvalidity"] > boxes["Sent"]["uidvalidity"] > inbox["uidvalidity"] - 1
    text = ctl(d, "mailbox", "show", "alice").stdout.decode()
    assert "mailbox INBOX" in text and "\\Answered" in text and "draft deleted" in text

    # Maildir export: the stored bytes (CRLF), flags in the names, dates as mtimes.
    out_dir = tmp_path / "export"
    ctl(d, "mailbox", "export", USER, "--maildir", str(out_dir))
    got = {}
    for folder in ("", ".Sent", ".Archive"):
        files = sorted((out_dir / folder / "cur").iterdir()) if folder else sorted((out_dir / "cur").iterdir())
        got[folder] = [(f.name, f.read_bytes(), int(f.stat().st_mtime)) for f in files]
        assert not list(((out_dir / folder) if folder else out_dir).joinpath("tmp").iterdir())
    assert (out_dir / ".Sent" / "maildirfolder").exists()
    expected_inbox = [m for m in MAILDIR if not m[0]]
    assert len(got[""]) == 4
    for (name, data, mtime), m in zip(got[""], expected_inbox):
        assert data == to_crlf(m[3])
        assert mtime == m[4]
        letters = name.split(":2,")[1]
        want = "".join(sorted({"\\Seen": "S", "\\Answered": "R", "\\Flagged": "F", "\\Deleted": "T",
                               "\\Draft": "D"}[f] for f in m[5]))
        assert letters == want, name
    assert got[".Sent"][0][1] == to_crlf(MAILDIR[4][3])

    # Re-import of the export into another user gives the same bytes again.
    # (bob@client.test is in the users file but not at a local domain: any
    # user of the file may own mailboxes for the store.)
    ctl(d, "mailbox", "import", "bob@client.test", "--maildir", str(out_dir))
    again = show(d, "bob@client.test")
    assert again["bytes"] == s["bytes"] and again["messages"] == 7

    # mbox export of Archive: the very bytes imported.
    ctl(d, "mailbox", "export", USER, "--mbox", str(tmp_path / "out.mbox"), "--mailbox", "Archive")
    assert (tmp_path / "out.mbox").read_bytes() == MBOX

    # mbox flags come from Status/X-Status (mutt, Dovecot); the fields stay.
    flagged = (b"From x Tue Nov 14 22:13:20 2023\nSubject: f\nStatus: RO\nX-Status: AF\n\nb\n\n"
               b"From x Tue Nov 14 22:13:21 2023\nSubject: g\nStatus: O\n\nb\n")
    (tmp_path / "flags.mbox").write_bytes(flagged)
    ctl(d, "mailbox", "import", "bob@client.test", "--mbox", str(tmp_path / "flags.mbox"), "--mailbox", "Flags")
    fl = {b["name"]: b for b in show(d, "bob@client.test")["mailboxes"]}["Flags"]["list"]
    assert [sorted(m["flags"]) for m in fl] == [["\\Answered", "\\Flagged", "\\Seen"], []]
    assert fl[0]["size"] == len(to_crlf(b"Subject: f\nStatus: RO\nX-Status: AF\n\nb\n"))

    # After a restart everything is still there, and new UIDs follow the old.
    d.restart()
    assert show(d)["messages"] == 7
    (tmp_path / "more.mbox").write_bytes(b"From x Tue Nov 14 22:13:20 2023\nSubject: more\n\nm\n")
    ctl(d, "mailbox", "import", USER, "--mbox", str(tmp_path / "more.mbox"))
    inbox = {b["name"]: b for b in show(d)["mailboxes"]}["INBOX"]
    assert [m["uid"] for m in inbox["list"]] == [1, 2, 3, 4, 5]


def test_purge(mdaemon, tmp_path):
    d = mdaemon
    (tmp_path / "a.mbox").write_bytes(MBOX)
    ctl(d, "mailbox", "import", USER, "--mbox", str(tmp_path / "a.mbox"))
    before = show(d)
    cp = ctl(d, "mailbox", "purge", "alice")
    assert f"purged {USER}: 2 message(s)" in cp.stdout.decode()
    assert ctl(d, "mailbox", "list", "--json").stdout.strip() == b""
    cp = ctl(d, "mailbox", "show", USER, check=False)
    assert cp.returncode == 1 and b"no mailbox for user alice@local.test" in cp.stderr
    cp = ctl(d, "mailbox", "purge", USER, check=False)
    assert cp.returncode == 1 and b"no mailbox for user" in cp.stderr
    # A new INBOX after the purge has a greater UIDVALIDITY (IMAP clients
    # must not mix the old UIDs with the new), even within the same second:
    # the purge keeps the user's last UIDVALIDITY (mailbox/codec.h 'V').
    ctl(d, "mailbox", "import", USER, "--mbox", str(tmp_path / "a.mbox"))
    after = show(d)
    assert after["mailboxes"][0]["uidvalidity"] > before["mailboxes"][0]["uidvalidity"]
    assert [m["uid"] for m in after["mailboxes"][0]["list"]] == [1, 2]


def test_errors(mdaemon, tmp_path):
    d = mdaemon
    cases = [
        (("mailbox", "show", "nobody"), 1, b"no mailbox for user nobody@local.test"),
        (("mailbox", "export", "nobody", "--mbox", str(tmp_path / "x.mbox")), 1, b"no mailbox for user"),
        (("mailbox", "import", "nobody", "--mbox", str(tmp_path / "x.mbox")), 1, b"no user nobody@local.test in"),
        (("mailbox", "import", USER, "--maildir", str(tmp_path / "missing")), 1, b"no directory"),
        (("mailbox", "import", USER, "--maildir", str(tmp_path)), 1, b"not a Maildir"),
        (("mailbox", "import", USER, "--mbox", str(tmp_path / "missing.mbox")), 1, b"no file"),
        (("mailbox", "import", USER), 2, b"give --maildir DIR or --mbox FILE"),
        (("mailbox", "import", USER, "--maildir", str(tmp_path), "--mailbox", "X"), 2, b"--mailbox goes with --mbox"),
    ]
    (tmp_path / "not.mbox").write_bytes(b"Subject: hi\n\nnot an mbox\n")
    cases.append((("mailbox", "import", USER, "--mbox", str(tmp_path / "not.mbox")), 1, b"not an mbox file"))
    for args, rc, needle in cases:
        cp = ctl(d, *args, check=False)
        assert cp.returncode == rc and needle in cp.stderr, (args, cp.returncode, cp.stderr)

    # Export never overwrites.
    (tmp_path / "a.mbox").write_bytes(MBOX)
    ctl(d, "mailbox", "import", USER, "--mbox", str(tmp_path / "a.mbox"))
    cp = ctl(d, "mailbox", "export", USER, "--mbox", str(tmp_path / "a.mbox"), check=False)
    assert cp.returncode == 1 and b"exists" in cp.stderr
    cp = ctl(d, "mailbox", "export", USER, "--mbox", str(tmp_path / "b.mbox"), "--mailbox", "Nope", check=False)
    assert cp.returncode == 1 and b"has no mailbox Nope" in cp.stderr

    # Without the daemon: reads still work, changes say why they cannot.
    d.stop()
    assert json.loads(ctl(d, "mailbox", "list", "--json").stdout)["messages"] == 2
    assert show(d)["messages"] == 2
    ctl(d, "mailbox", "export", USER, "--mbox", str(tmp_path / "c.mbox"))
    assert (tmp_path / "c.mbox").read_bytes() == MBOX
    for args in (("mailbox", "purge", USER), ("mailbox", "import", USER, "--mbox", str(tmp_path / "a.mbox"))):
        cp = ctl(d, *args, check=False)
        assert cp.returncode == 1 and b"the ringmta daemon is not running" in cp.stderr, cp.stderr


def test_big_message_is_staged(mdaemon, tmp_path):
    """A message bigger than one admin request (5 MiB of body) goes in parts
    (mailbox_stage) and still comes back byte for byte, between small ones."""
    d = mdaemon
    src = tmp_path / "Maildir"
    for s in ("cur", "new", "tmp"):
        (src / s).mkdir(parents=True)
    line = bytes(range(33, 127)) + b"\r\n"
    big = b"Subject: big\r\n\r\n" + line * (12 * 1024 * 1024 // len(line))  # ~12 MiB, CRLF already
    small = b"Subject: small\r\n\r\nx\r\n"
    write_msg(src / "cur" / "1.a:2,S", small, T0)
    write_msg(src / "cur" / "2.a:2,", big, T0 + 1)
    write_msg(src / "cur" / "3.a:2,F", small, T0 + 2)
    cp = ctl(d, "mailbox", "import", USER, "--maildir", str(src))
    assert f"imported 3 message(s) into INBOX of {USER}" in cp.stdout.decode(), cp.stdout
    inbox = show(d)["mailboxes"][0]
    assert [(m["uid"], m["size"], m["subject"]) for m in inbox["list"]] == [
        (1, len(small), "small"), (2, len(big), "big"), (3, len(small), "small")]
    ctl(d, "mailbox", "export", USER, "--maildir", str(tmp_path / "out"))
    got = sorted((tmp_path / "out" / "cur").iterdir(), key=lambda p: int(p.name.split("_")[1].split(".")[0]))
    assert [p.read_bytes() for p in got] == [small, big, small]
    # Three requests: the small one before, the staged one alone, the small one after.
    assert d.wait_log(f"admin API: 1 message(s) imported into INBOX of {USER}", count=3)
