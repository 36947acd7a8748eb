"""tests/integration/test_imap_sessions.py — several IMAP sessions on one
mailbox (RFC 9051 §5.2, §7.5.1, RFC 3501 \\Recent): each sees the others'
STORE/APPEND/EXPUNGE/MOVE as FETCH FLAGS / EXISTS / EXPUNGE at NOOP, in order;
no EXPUNGE is sent during FETCH, STORE or SEARCH (sequence numbers never
change behind a client's back); \\Recent in exactly one session; IDLE sees a
delivered message as "* n EXISTS" (latency printed, only a generous bound
asserted); POP3 and IMAP see the same messages (ringmta only).
Runs against ringmta or Dovecot (imap_fixtures.py).
"""

import poplib
import re
import time

from imap_fixtures import (RawImap, connect, imap_server, message, ok, ringmta_only,  # noqa: F401
                           tls_context)

IDLE_BOUND = 10.0  # seconds; generous, not a performance assertion


def noop_updates(c):
    """NOOP and the untagged updates it brought, as raw lines in order."""
    lines = []
    orig = c._append_untagged

    def record(typ, dat):
        lines.append(typ.encode() + b" " + (dat if isinstance(dat, bytes) else b""))
        orig(typ, dat)
    c._append_untagged = record
    try:
        ok(c.noop())
    finally:
        c._append_untagged = orig
    c.untagged_responses.clear()
    return lines


def replay(count, updates):
    """The message count a client ends with after `updates` (noop_updates
    lines), starting from `count`; asserts every number is valid when it comes."""
    for u in updates:
        kind, _, rest = u.partition(b" ")
        if kind == b"EXPUNGE":
            assert 1 <= int(rest) <= count, (u, count, updates)
            count -= 1
        elif kind == b"EXISTS":
            assert int(rest) >= count, (u, count, updates)  # EXISTS never shrinks the mailbox
            count = int(rest)
        elif kind == b"FETCH":
            assert 1 <= int(rest.split()[0]) <= count, (u, count, updates)
    return count


def selected(server, n):
    sessions = [connect(server) for _ in range(n)]
    for c in sessions:
        ok(c.select("INBOX"))
        c.untagged_responses.clear()
    return sessions


def test_sessions_see_store_append_expunge_in_order(imap_server):
    for i in range(3):
        imap_server.deliver(imap_server.user, message(i))
    a, b = selected(imap_server, 2)
    ok(a.store("2", "+FLAGS", "(\\Flagged)"))
    ok(a.append("INBOX", "(\\Seen)", None, message(10)))
    ok(a.store("1", "+FLAGS", "(\\Deleted)"))
    assert ok(a.expunge()) == [b"1"]
    got = noop_updates(b)
    # B learns that message 2 got \Flagged, one message came and message 1
    # went. A server may report them in any order that stays consistent with
    # the numbers B holds at each point (Dovecot: EXPUNGE first, then EXISTS).
    assert replay(3, got) == 3, got
    assert b"EXPUNGE 1" in got, got
    assert any(re.match(rb"FETCH [12] \(.*\\Flagged", x) for x in got), got
    # Both now agree on the mailbox.
    assert ok(a.uid("SEARCH", "ALL")) == ok(b.uid("SEARCH", "ALL"))
    assert ok(b.search(None, "FLAGGED")) == [b"1"]
    for c in (a, b):
        c.logout()


def test_no_expunge_during_fetch_store_search(imap_server):
    for i in range(4):
        imap_server.deliver(imap_server.user, message(i))
    a, b = selected(imap_server, 2)
    uids_b = ok(b.uid("SEARCH", "ALL"))[0].split()
    ok(a.store("2", "+FLAGS", "(\\Deleted)"))
    assert ok(a.expunge()) == [b"2"]
    # B has not synchronised: its sequence numbers 1..4 must still hold, and
    # FETCH/STORE/SEARCH must not announce the EXPUNGE (RFC 9051 §7.5.1).
    for cmd in (lambda: b.fetch("1:4", "(UID)"), lambda: b.store("4", "+FLAGS", "(\\Seen)"),
                lambda: b.search(None, "ALL")):
        b.untagged_responses.clear()
        cmd()
        assert "EXPUNGE" not in b.untagged_responses, b.untagged_responses
    uids_fetched = [int(m) for m in re.findall(rb"UID (\d+)", b"".join(
        x if isinstance(x, bytes) else x[0] for x in b.fetch("3:4", "(UID)")[1]))]
    assert uids_fetched == [int(u) for u in uids_b[2:]]  # 3 and 4 are still B's 3 and 4
    got = noop_updates(b)
    assert b"EXPUNGE 2" in got and replay(4, got) == 3, got
    assert ok(b.uid("SEARCH", "ALL"))[0].split() == [uids_b[0], uids_b[2], uids_b[3]]
    for c in (a, b):
        c.logout()


def test_move_seen_by_both_mailboxes_and_third_session_append(imap_server):
    for i in range(3):
        imap_server.deliver(imap_server.user, message(i))
    a, b = selected(imap_server, 2)
    arch = connect(imap_server)
    ok(arch.select("Archive"))
    arch.untagged_responses.clear()
    uids = ok(a.uid("SEARCH", "ALL"))[0].split()
    ok(a.uid("MOVE", uids[1].decode(), "Archive"))
    ok(a.append("INBOX", None, None, message(20)))
    got_b = noop_updates(b)
    assert b"EXPUNGE 2" in got_b and replay(3, got_b) == 3, got_b
    got_arch = noop_updates(arch)
    assert b"EXISTS 1" in got_arch, got_arch
    assert ok(arch.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))[0][1].strip() == b"Subject: message 1"
    for c in (a, b, arch):
        c.logout()


def test_recent_in_exactly_one_session(imap_server):
    a, b = selected(imap_server, 2)
    imap_server.deliver(imap_server.user, message(1), wait=False)
    deadline = time.monotonic() + 30
    seen = {id(a): False, id(b): False}
    while not all(seen.values()):
        assert time.monotonic() < deadline, "delivery not seen"
        for c in (a, b):
            if not seen[id(c)] and any(x.startswith(b"EXISTS 1") for x in noop_updates(c)):
                seen[id(c)] = True
        time.sleep(0.05)
    flags = [ok(c.fetch("1", "(FLAGS)"))[0] for c in (a, b)]
    assert sum(b"\\Recent" in f for f in flags) == 1, flags
    third = connect(imap_server)  # a later session sees it as not recent
    ok(third.select("INBOX"))
    assert third.untagged_responses.get("RECENT") == [b"0"], third.untagged_responses
    for c in (a, b, third):
        c.logout()


def test_idle_sees_delivery(imap_server):
    with RawImap(imap_server) as r:
        tag, lines = r.cmd("SELECT INBOX")
        assert b"* 0 EXISTS" in lines, lines
        tag = r.tag()
        r.send(tag + b" IDLE\r\n")
        assert r.line().startswith(b"+"), "no IDLE continuation"
        start = time.monotonic()
        imap_server.deliver(imap_server.user, message(1), wait=False)
        r.sock.settimeout(IDLE_BOUND)
        line = r.line()
        while line.startswith(b"* ") and not line.endswith(b" EXISTS"):
            line = r.line()  # e.g. "* 1 RECENT" may come first
        latency = time.monotonic() - start
        print(f"IDLE notify latency ({imap_server.kind}, delivery included): {latency * 1000:.1f} ms")
        assert line == b"* 1 EXISTS", line
        r.send(b"DONE\r\n")
        lines = r.until(tag)
        assert lines[-1].startswith(tag + b" OK"), lines


@ringmta_only("POP3 UIDL '<uidvalidity>.<uid>' is ringmta's shared store")
def test_pop3_and_imap_see_the_same_messages(imap_server):
    for i in range(3):
        imap_server.deliver(imap_server.user, message(i))
    c = connect(imap_server)
    ok(c.select("INBOX"))
    uidvalidity = int(c.untagged_responses["UIDVALIDITY"][0])
    uids = [int(u) for u in ok(c.uid("SEARCH", "ALL"))[0].split()]
    imap_bodies = [ok(c.uid("FETCH", str(u), "(BODY.PEEK[])"))[0][1] for u in uids]
    c.logout()
    p = poplib.POP3_SSL(imap_server.host, imap_server.pop3s_port, context=tls_context(imap_server), timeout=30)
    p.user(imap_server.user)
    p.pass_(imap_server.password)
    uidls = [line.split()[1].decode() for line in p.uidl()[1]]
    assert uidls == [f"{uidvalidity}.{u}" for u in uids]
    for i, body in enumerate(imap_bodies):
        assert b"".join(line + b"\r\n" for line in p.retr(i + 1)[1]) == body
    p.quit()
