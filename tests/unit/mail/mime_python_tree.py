#!/usr/bin/python3
"""tests/unit/mail/mime_python_tree.py — the part tree of a message as
Python's email package (an independent MIME parser) sees it.

Usage: mime_python_tree.py MESSAGE_FILE
Prints one line per part, depth-first: two spaces per level, the content type,
and for a leaf the exact byte length of its body ("len=N"). A message/rfc822
part is a container of one message, as in mail/mime.h. mime_golden_test
compares this with the tree parse_mime() builds.
"""
import email
import email.policy
import sys


def walk(msg, depth, out):
    line = "  " * depth + msg.get_content_type()
    if msg.is_multipart():
        out.append(line)
        for part in msg.get_payload():
            walk(part, depth + 1, out)
    else:
        payload = msg.get_payload()
        # compat32 keeps the body as read, as ASCII with surrogate escapes, or
        # as UTF-8 text when the part says 8bit: undo either decoding.
        raw = b""
        if isinstance(payload, str):
            try:
                raw = payload.encode("ascii", "surrogateescape")
            except UnicodeEncodeError:
                raw = payload.encode("utf-8", "surrogateescape")
        out.append(line + " len=%d" % len(raw))


def main():
    with open(sys.argv[1], "rb") as f:
        msg = email.message_from_bytes(f.read(), policy=email.policy.compat32)
    out = []
    walk(msg, 0, out)
    sys.stdout.write("\n".join(out) + "\n")


main()
