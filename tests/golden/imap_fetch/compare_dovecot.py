#!/usr/bin/python3
"""tests/golden/imap_fetch/compare_dovecot.py — send the golden FETCH commands
(NAME.in) to a private Dovecot imap process and write its answers beside ours,
for the comparison in README.md. Not a test: Dovecot differs on purpose in
places (the README lists where).

Dovecot runs as a PREAUTH imap process on stdin/stdout (no listener, no
network) with its own config and Maildir in a temporary directory; as root it
runs as `nobody` (Dovecot refuses mail access as root).

Usage: compare_dovecot.py OUTDIR   -> OUTDIR/NAME.dovecot (same "C:/S:" form as NAME.ref)
"""
import os
import pathlib
import pwd
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
MIME = HERE.parent / "mime"
IMAP = "/usr/lib/dovecot/imap"


def message_path(name):
    own = HERE / f"{name}.eml"
    return own if own.exists() else MIME / f"{name}.eml"


def main():
    out_dir = pathlib.Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    names = sorted(p.stem for p in HERE.glob("*.in"))
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ringmta_dovecot_"))
    try:
        cur = tmp / "Maildir" / "cur"
        for d in ("cur", "new", "tmp"):
            (tmp / "Maildir" / d).mkdir(parents=True)
        for seq, name in enumerate(names, 1):  # Maildir order = file name order = sequence
            shutil.copy(message_path(name), cur / f"{1000000000 + seq}.M1P1.host:2,")
        user = pwd.getpwnam("nobody") if os.getuid() == 0 else pwd.getpwuid(os.getuid())
        (tmp / "dovecot.conf").write_text(
            f"mail_location = maildir:{tmp}/Maildir\nssl = no\nlog_path = {tmp}/log\n"
            f"base_dir = {tmp}/run\nstate_dir = {tmp}/state\nprotocols = imap\n"
            f"mail_uid = {user.pw_uid}\nmail_gid = {user.pw_gid}\n")
        for root, dirs, files in os.walk(tmp):
            for f in dirs + files:
                os.chown(os.path.join(root, f), user.pw_uid, user.pw_gid)
        os.chown(tmp, user.pw_uid, user.pw_gid)
        argv = [IMAP, "-c", str(tmp / "dovecot.conf")]
        if os.getuid() == 0:
            argv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"] + argv
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env={"USER": user.pw_name, "HOME": str(tmp), "PATH": "/usr/bin:/bin"})

        def command(tag, line):
            # One command at a time: Dovecot may run pipelined FETCHes together.
            proc.stdin.write(f"{tag} {line}\r\n".encode())
            proc.stdin.flush()
            untagged = b""
            while True:
                text = proc.stdout.readline()
                if not text:
                    raise SystemExit("dovecot closed the connection")
                tail = text
                while (m := re.search(rb"\{(\d+)\}\r\n$", tail)):
                    text += proc.stdout.read(int(m.group(1)))
                    tail = proc.stdout.readline()
                    text += tail
                if text.startswith(tag.encode() + b" "):
                    return untagged, text
                untagged += text

        command("s", "EXAMINE INBOX")
        n = 0
        for seq, name in enumerate(names, 1):
            result = b""
            for line in (HERE / f"{name}.in").read_text().splitlines():
                if not line or line.startswith("#"):
                    continue
                n += 1
                cmd = re.sub(r"^\[[a-z0-9 ]*\] ", "", line).replace("FETCH 1 ", f"FETCH {seq} ")
                untagged, status = command(f"t{n}", cmd)
                result += b"C: " + line.encode() + b"\nS: "
                result += untagged.replace(f"* {seq} FETCH".encode(), b"* 1 FETCH")
                if b" OK " not in status:
                    result += b"TAGGED: " + status
            (out_dir / f"{name}.dovecot").write_bytes(result)
        command("z", "LOGOUT")
        proc.wait(timeout=10)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
