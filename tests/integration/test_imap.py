"""tests/integration/test_imap.py — the IMAP server with Python's imaplib (and
a raw client where imaplib has no command): STARTTLS/imaps with a verified
certificate, LOGINDISABLED, the capabilities clients rely on, SELECT/FETCH
byte-exact against a delivered message, STORE, SEARCH, SORT, THREAD, APPEND,
COPY/MOVE/EXPUNGE, mailbox hierarchy and special-use mailboxes, STATUS,
NAMESPACE, QUOTA, ID, CONDSTORE, LITERAL+, COMPRESS=DEFLATE, the bad-command
limit. Runs against ringmta or, to validate the tests, Dovecot
($RINGMTA_IMAP_TEST_SERVER, see imap_fixtures.py).
"""

import imaplib
import re
from datetime import datetime, timezone

import pytest

from imap_fixtures import (RawImap, command, connect, imap_server, message, ok, plain,  # noqa: F401
                           ringmta_only, tls_context)

WANTED = ["IMAP4rev1", "IMAP4rev2", "IDLE", "UIDPLUS", "MOVE", "LITERAL+", "ENABLE", "NAMESPACE", "ID",
          "CHILDREN", "UNSELECT", "LIST-EXTENDED", "LIST-STATUS", "SPECIAL-USE", "CONDSTORE", "QRESYNC",
          "ESEARCH", "SASL-IR", "UTF8=ACCEPT", "STATUS=SIZE", "COMPRESS=DEFLATE", "QUOTA", "APPENDLIMIT",
          "SORT", "THREAD=REFERENCES"]
# Dovecot 2.3.19 (Debian 12) implements neither IMAP4rev2 nor UTF8=ACCEPT (both
# came with 2.4) and announces APPENDLIMIT only per mailbox, not as a capability.
DOVECOT_23_LACKS = {"IMAP4rev2", "UTF8=ACCEPT", "APPENDLIMIT"}

MULTIPART = (b"From: Alice Sender <alice@client.test>\r\nTo: User <user@example.test>\r\n"
             b"Cc: carol@client.test\r\nSubject: multipart test\r\n"
             b"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <multi.1@client.test>\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"BND\"\r\n\r\n"
             b"preamble\r\n--BND\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part\r\n\r\n"
             b"--BND\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html part</p>\r\n\r\n--BND--\r\n")


def caps_of(c):
    return {x.upper() for x in ok(c.capability())[0].decode().split()}


def fetch_one(c, seq, items, uid=False):
    """The FETCH response for one message: (metadata bytes, [literals])."""
    data = ok(c.uid("FETCH", seq, items) if uid else c.fetch(seq, items))
    meta, lits = b"", []
    for part in data:
        if isinstance(part, tuple):
            meta += part[0]
            lits.append(part[1])
        else:
            meta += part
    return meta, lits


def test_starttls_then_login_and_logindisabled_before_it(imap_server):
    c = plain(imap_server)
    assert "STARTTLS" in c.capabilities and "LOGINDISABLED" in c.capabilities, c.capabilities
    with pytest.raises(imaplib.IMAP4.error):
        c.login(imap_server.user, imap_server.password)  # refused before TLS
    c.starttls(tls_context(imap_server))  # verifies the certificate and the host name
    assert "LOGINDISABLED" not in c.capabilities and "STARTTLS" not in c.capabilities
    ok(c.login(imap_server.user, imap_server.password))
    ok(c.noop())
    c.logout()


def test_imaps_capabilities_after_login(imap_server):
    c = connect(imap_server)
    caps = caps_of(c)
    want = [w for w in WANTED if not (imap_server.kind == "dovecot" and w in DOVECOT_23_LACKS)]
    missing = [w for w in want if w.upper() not in caps and not (w == "APPENDLIMIT" and any(
        x.startswith("APPENDLIMIT=") for x in caps))]
    assert not missing, (missing, sorted(caps))
    with pytest.raises(imaplib.IMAP4.error):
        connect(imap_server, password="wrong password")
    c.logout()


def test_users_see_only_their_own_mail(imap_server):
    imap_server.deliver(imap_server.user2, message(1, subject="for the second user"))
    imap_server.deliver(imap_server.user, message(2))
    for user, subject in ((imap_server.user, b"message 2"), (imap_server.user2, b"for the second user")):
        c = connect(imap_server, user)
        assert ok(c.select("INBOX")) == [b"1"], user
        assert ok(c.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))[0][1].strip() == b"Subject: " + subject
        assert "Archive" in b" ".join(ok(c.list('""', '"*"'))).decode()
        c.logout()


def test_select_and_fetch_byte_exact(imap_server):
    imap_server.deliver(imap_server.user, MULTIPART)
    c = connect(imap_server)
    assert ok(c.select("INBOX")) == [b"1"]
    uidvalidity = int(c.untagged_responses["UIDVALIDITY"][0])
    uidnext = int(c.untagged_responses["UIDNEXT"][0])
    assert uidvalidity > 0
    meta, _ = fetch_one(c, "1", "(UID FLAGS)")
    uid = int(re.search(rb"UID (\d+)", meta).group(1))
    assert uidnext == uid + 1
    assert b"\\Seen" not in meta
    meta, lits = fetch_one(c, "1", "(RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[] BODY.PEEK[1] BODY.PEEK[2])")
    whole, part1, part2 = lits[0], lits[1], lits[2]
    assert whole.endswith(MULTIPART) and imap_server.delivered_prefix_ok(whole[:-len(MULTIPART)]), whole[:300]
    assert int(re.search(rb"RFC822\.SIZE (\d+)", meta).group(1)) == len(whole)
    assert part1 == b"plain part\r\n" and part2 == b"<p>html part</p>\r\n"
    assert b'"multipart test"' in meta and b'(("Alice Sender" NIL "alice" "client.test"))' in meta
    assert b'((NIL NIL "carol" "client.test"))' in meta and b'"<multi.1@client.test>"' in meta
    bs = re.search(rb"BODYSTRUCTURE (\(.*\"ALTERNATIVE\")", meta, re.I)
    assert bs, meta
    assert re.search(rb'\("TEXT" "PLAIN" \("CHARSET" "utf-8"\) NIL NIL "7BIT" 12 1', meta, re.I), meta
    assert re.search(rb'\("TEXT" "HTML" \("CHARSET" "utf-8"\) NIL NIL "7BIT" 18 1', meta, re.I), meta
    # A non-peek BODY[] sets \Seen (and says so).
    meta, lits = fetch_one(c, "1", "(BODY[TEXT])")
    assert lits[0] == MULTIPART.split(b"\r\n\r\n", 1)[1]
    assert b"\\Seen" in fetch_one(c, "1", "(FLAGS)")[0]
    c.logout()


def test_store_search_and_uid_search(imap_server):
    big = message(4, body="x" * 5000 + "\r\n")
    msgs = [message(1, subject="Lunch plans", sender="bob@client.test", body="Pizza at noon?\r\n"),
            message(2, subject="Report draft", body="The quarterly NUMBERS attached.\r\n"),
            message(3, subject="lunch again", sender="bob@client.test"), big]
    for m in msgs:
        imap_server.deliver(imap_server.user, m)
    c = connect(imap_server)
    ok(c.select("INBOX"))
    uids = ok(c.uid("SEARCH", "ALL"))[0].split()
    assert len(uids) == 4
    ok(c.store("1", "+FLAGS", "(\\Seen)"))
    ok(c.store("2", "+FLAGS", "(\\Flagged \\Seen)"))
    assert b"\\Flagged" in fetch_one(c, "2", "(FLAGS)")[0]

    def search(*crit):
        return ok(c.search(None, *crit))[0].split()
    assert search("UNSEEN") == [b"3", b"4"]
    assert search("FLAGGED") == [b"2"]
    assert search("FROM", "bob@client.test") == [b"1", b"3"]
    assert search("SUBJECT", "lunch") == [b"1", b"3"]  # case-insensitive substring
    assert search("BODY", "numbers") == [b"2"]
    assert search("OR", "SUBJECT", "report", "FLAGGED") == [b"2"]
    assert search("NOT", "FROM", "bob") == [b"2", b"4"]
    assert search("LARGER", "4000") == [b"4"]
    assert search("UNSEEN", "NOT", "LARGER", "4000") == [b"3"]
    assert ok(c.uid("SEARCH", "UNSEEN"))[0].split() == uids[2:]
    assert ok(c.uid("SEARCH", "UID", f"{uids[1].decode()}:*", "SEEN"))[0].split() == [uids[1]]
    c.logout()


def test_sort_and_thread_references(imap_server):
    d = "Mon, 07 Dec 2026 {}:00:00 +0000"
    root = message(1, subject="Topic B", date=d.format(12), extra="")
    mid = re.search(rb"Message-ID: (<[^>]+>)", root).group(1).decode()
    reply = message(2, subject="Re: Topic B", date=d.format(14),
                    extra=f"In-Reply-To: {mid}\r\nReferences: {mid}\r\n")
    other = message(3, subject="Another topic A", date=d.format(9))
    for m in (root, reply, other):
        imap_server.deliver(imap_server.user, m)
    c = connect(imap_server)
    ok(c.select("INBOX"))
    # SORT SUBJECT uses the base subject (no "Re:"): "Another topic A" < "Topic B" = "Topic B".
    assert ok(c.sort("(SUBJECT)", "UTF-8", "ALL"))[0].split() == [b"3", b"1", b"2"]
    assert ok(c.sort("(DATE)", "UTF-8", "ALL"))[0].split() == [b"3", b"1", b"2"]
    assert ok(c.sort("(REVERSE DATE)", "UTF-8", "ALL"))[0].split() == [b"2", b"1", b"3"]
    threads = ok(c.thread("REFERENCES", "UTF-8", "ALL"))[0]
    assert sorted(re.findall(rb"\(([0-9 ]+)\)", threads)) == [b"1 2", b"3"], threads
    c.logout()


def test_append_keeps_flags_and_internaldate(imap_server):
    c = connect(imap_server)
    m = message(7)
    typ, data = c.append("INBOX", "(\\Seen \\Flagged)", '"01-Feb-2020 10:11:12 +0100"', m)
    assert typ == "OK" and b"APPENDUID" in data[0], data
    uid = data[0].split(b"APPENDUID ")[1].split()[1].rstrip(b"]")
    ok(c.select("INBOX"))
    meta, lits = fetch_one(c, uid.decode(), "(INTERNALDATE FLAGS BODY.PEEK[])", uid=True)
    # The same instant; a server may give it in another zone (Dovecot: UTC).
    date = re.search(rb'INTERNALDATE "([^"]+)"', meta).group(1).decode()
    assert datetime.strptime(date, "%d-%b-%Y %H:%M:%S %z") == \
        datetime(2020, 2, 1, 9, 11, 12, tzinfo=timezone.utc), meta
    flags = re.search(rb"FLAGS \(([^)]*)\)", meta).group(1).split()
    assert set(flags) >= {b"\\Seen", b"\\Flagged"} and b"\\Deleted" not in flags
    assert lits == [m]  # APPEND stores exactly the octets sent
    c.logout()


def test_literal_plus_append(imap_server):
    m = message(8)
    with RawImap(imap_server) as r:
        tag = r.tag()
        # A non-synchronising literal: the message follows at once, no "+" awaited.
        r.send(tag + b" APPEND INBOX (\\Draft) {%d+}\r\n" % len(m) + m + b"\r\n")
        lines = r.until(tag)
        assert lines[-1].startswith(tag + b" OK"), lines
        assert not any(line.startswith(b"+") for line in lines), lines
        tag, lines = r.cmd("EXAMINE INBOX")
        tag, lines = r.cmd("FETCH 1 (FLAGS BODY.PEEK[])")
        assert lines[-1].startswith(tag + b" OK"), lines
        assert b"\\Draft" in lines[0] and lines[0].endswith(m + b")"), lines[0][-200:]


def test_copy_move_expunge(imap_server):
    for i in range(5):
        imap_server.deliver(imap_server.user, message(i))
    c = connect(imap_server)
    ok(c.select("INBOX"))
    uids = ok(c.uid("SEARCH", "ALL"))[0].split()
    data = ok(c.copy("1:2", "Archive"))
    m = re.search(rb"\[COPYUID (\d+) (\S+) (\S+)\]", data[0])
    assert m, data
    c.untagged_responses.clear()  # imaplib files the tagged COPYUID there too
    ok(c.uid("MOVE", uids[2].decode(), "Trash"))
    copyuid = c.untagged_responses.pop("COPYUID", None)
    assert copyuid and copyuid[0].split()[1] == uids[2], copyuid
    assert c.untagged_responses.pop("EXPUNGE", None) == [b"3"]
    assert ok(c.uid("SEARCH", "ALL"))[0].split() == uids[:2] + uids[3:]
    # STORE \Deleted + EXPUNGE, then UID EXPUNGE removes only the UIDs named.
    ok(c.store("1", "+FLAGS", "(\\Deleted)"))
    assert ok(c.expunge()) == [b"1"]  # imaplib returns the untagged EXPUNGEs
    ok(c.store("1:*", "+FLAGS.SILENT", "(\\Deleted)"))
    ok(c.uid("EXPUNGE", uids[3].decode()))
    assert ok(c.uid("SEARCH", "ALL"))[0].split() == [uids[1], uids[4]]
    assert ok(c.uid("SEARCH", "DELETED"))[0].split() == [uids[1], uids[4]]
    for box, n in (("Archive", 2), ("Trash", 1)):
        assert re.search(rb"MESSAGES (\d+)", ok(c.status(box, "(MESSAGES)"))[0]).group(1) == str(n).encode()
    c.logout()


def test_special_use_mailboxes_at_first_login_and_list_variants(imap_server):
    c = connect(imap_server)
    listing = ok(c.list('""', '"*"'))
    attrs = {}
    for line in listing:
        m = re.match(rb'\(([^)]*)\) (?:"(.)"|NIL) "?([^"]*)"?$', line)
        assert m, line
        assert m.group(2) == b"/"
        attrs[m.group(3).decode()] = m.group(1).decode().split()
    for name, use in {"Sent": "\\Sent", "Drafts": "\\Drafts", "Trash": "\\Trash", "Junk": "\\Junk",
                      "Archive": "\\Archive"}.items():
        assert use in attrs.get(name, []), (name, listing)
    assert "INBOX" in attrs
    special = ok(command(c, "LIST", "(SPECIAL-USE)", '""', '"*"'))
    special = ok(c._untagged_response("OK", special, "LIST"))
    assert len([x for x in special if x]) == 5 and not any(b"INBOX" in x for x in special if x), special
    imap_server.deliver(imap_server.user, message(1))
    typ, _ = command(c, "LIST", '""', '"*"', "RETURN", "(STATUS (MESSAGES UNSEEN))")
    assert typ == "OK"
    statuses = c.untagged_responses.pop("STATUS", [])
    inbox = [s for s in statuses if re.match(rb'"?INBOX"? \(', s)]
    assert len(inbox) == 1, statuses
    items = dict(re.findall(rb"([A-Z]+) (\d+)", inbox[0]))
    assert items == {b"MESSAGES": b"1", b"UNSEEN": b"1"}, statuses
    st = ok(c.status("INBOX", "(MESSAGES UNSEEN UIDNEXT UIDVALIDITY SIZE)"))[0]
    size = int(re.search(rb"SIZE (\d+)", st).group(1))
    assert size >= len(message(1)) and b"MESSAGES 1" in st and b"UNSEEN 1" in st
    c.logout()


def test_create_rename_delete_hierarchy(imap_server):
    c = connect(imap_server)
    ok(c.create("Projects/2026/Q4"))
    names = [line.split(b'"/" ')[-1].strip(b'"') for line in ok(c.list('""', '"Projects*"'))]
    assert set(names) == {b"Projects", b"Projects/2026", b"Projects/2026/Q4"}, names
    assert b"\\HasChildren" in ok(c.list('""', "Projects"))[0]
    ok(c.append("Projects/2026/Q4", None, None, message(1)))
    ok(c.rename("Projects", "Work"))
    names = [line.split(b'"/" ')[-1].strip(b'"') for line in ok(c.list('""', '"*"'))]
    assert b"Work/2026/Q4" in names and not any(n.startswith(b"Projects") for n in names), names
    assert b"MESSAGES 1" in ok(c.status("Work/2026/Q4", "(MESSAGES)"))[0]
    ok(c.delete("Work/2026/Q4"))
    assert ok(c.list('""', '"Work/2026/*"')) == [None]
    assert c.create("INBOX")[0] == "NO"  # exists already
    assert c.select("No/Such/Box")[0] == "NO"
    c.logout()


def test_namespace_quota_id(imap_server):
    c = connect(imap_server)
    ns = ok(c.namespace())[0]
    assert re.match(rb'\(\("" "/"\)\) (NIL|\(.*\)) (NIL|\(.*\))', ns), ns
    roots, quota = ok(c.getquotaroot("INBOX"))  # imaplib hands back the untagged replies
    assert roots and re.match(rb'"?INBOX"? ', roots[0]), roots
    assert quota and re.search(rb"\(STORAGE \d+ \d+", quota[0]), quota
    typ, _ = command(c, "ID", '("name" "ringmta-tests" "version" "1")')
    assert typ == "OK"
    assert c.untagged_responses.pop("ID", None), "no untagged ID reply"
    c.logout()


def test_condstore_modseq_and_unchangedsince(imap_server):
    imap_server.deliver(imap_server.user, message(1))
    imap_server.deliver(imap_server.user, message(2))
    c = connect(imap_server)
    ok(c.enable("CONDSTORE"))
    ok(c.select("INBOX"))
    assert c.untagged_responses.get("HIGHESTMODSEQ"), c.untagged_responses
    # Each message has its own MODSEQ (appends count too, RFC 7162 §3.1):
    # the larger of the two is unchanged-since for both.
    typ, data = c.fetch("1:2", "(MODSEQ)")
    assert typ == "OK", data
    modseq = max(int(m) for m in re.findall(rb"MODSEQ \((\d+)\)", b" ".join(x for x in data if isinstance(x, bytes))))
    ok(c.store("1", f"(UNCHANGEDSINCE {modseq}) +FLAGS", "(\\Answered)"))
    after = int(re.search(rb"MODSEQ \((\d+)\)", fetch_one(c, "1", "(MODSEQ)")[0]).group(1))
    assert after > modseq
    typ, data = c.store("1:2", f"(UNCHANGEDSINCE {modseq}) +FLAGS", "(\\Flagged)")
    assert typ == "OK", data
    assert c.untagged_responses.pop("MODIFIED", None) == [b"1"]  # 1 changed since; 2 was stored
    assert b"\\Flagged" not in fetch_one(c, "1", "(FLAGS)")[0]
    assert b"\\Flagged" in fetch_one(c, "2", "(FLAGS)")[0]
    meta, _ = fetch_one(c, "1:*", f"(FLAGS) (CHANGEDSINCE {modseq})")
    assert b"MODSEQ" in meta
    c.logout()


def test_compress_deflate(imap_server):
    imap_server.deliver(imap_server.user, message(1, body="compress me\r\n" * 200))
    with RawImap(imap_server) as r:
        r.compress()
        tag, lines = r.cmd("NOOP")
        assert lines[-1].startswith(tag + b" OK")
        tag, lines = r.cmd("SELECT INBOX")
        assert b"* 1 EXISTS" in lines, lines
        tag, lines = r.cmd("FETCH 1 BODY.PEEK[TEXT]")
        assert lines[-1].startswith(tag + b" OK") and b"compress me\r\n" * 200 in lines[0]
        tag, lines = r.cmd("LOGOUT")
        assert lines[0].startswith(b"* BYE") and lines[-1].startswith(tag + b" OK"), lines


@ringmta_only("Dovecot has no bad-command limit ([imap] max_bad_commands)")
def test_bad_commands_answered_bad_then_connection_closed(imap_server):
    limit = imap_server.max_bad_commands
    with RawImap(imap_server) as r:
        tag, lines = r.cmd("NOOP")
        assert lines[-1].startswith(tag + b" OK")
        for i in range(limit - 1):
            tag, lines = r.cmd(f"NOSUCHCOMMAND {i}")
            assert lines[-1].startswith(tag + b" BAD"), (i, lines)
        r.send(b"X1 FETCH\r\n")  # the limit-th bad command
        r.sock.settimeout(10)
        got, closed = b"", False
        try:
            for _ in range(10):
                got += r.line() + b"\n"
        except TimeoutError:
            pass  # still open: fails below
        except (ConnectionError, OSError):
            closed = True
        assert closed, got
        assert b"X1 BAD" in got or b"* BYE" in got, got
