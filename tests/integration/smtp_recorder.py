#!/usr/bin/python3
"""tests/integration/smtp_recorder.py — a remote MX host for delivery tests.

A real SMTP server (python3-aiosmtpd) on one loopback address that records
everything it sees as JSON lines, so a test can check what ringmta delivered,
how many connections it opened and how many it held at once. Run by
delivery_fixtures.Recorder as a subprocess of /usr/bin/python3:

    smtp_recorder.py --listen 127.0.0.2:PORT --out EVENTS.jsonl \
        [--hostname NAME] [--data-delay SECONDS] [--rule ADDRESS=SPEC ...]
        [--tls-cert PEM --tls-key PEM] [--size-limit BYTES]

SPEC says how RCPT TO:<ADDRESS> is answered (ADDRESS compared case-blind):
  550     always "550 5.1.1 ..." (permanent: the recipient must bounce)
  450     always "450 4.2.1 ..." (temporary: retried until expiry)
  450xN   "450 4.2.1 ..." the first N times, then 250 (counted over all
          connections of this server process)
Other recipients are accepted. --data-delay holds each end-of-data reply for
that long, so deliveries overlap (concurrency cap) or stay in flight (kill -9).
With --tls-cert/--tls-key, EHLO offers STARTTLS (RFC 3207) with that
certificate; each message records the TLS version and cipher it came over.
--size-limit sets the SIZE the server announces and enforces (RFC 1870;
aiosmtpd refuses a larger MAIL SIZE= or DATA with 552). Default: 32 MiB.

Events, one JSON object per line, flushed as they happen:
  {"event": "connect",    "conn": N, "active": K, "t": UNIX}
  {"event": "rcpt",       "conn": N, "rcpt": ADDR, "options": [...], "reply": "250 ..."}
  {"event": "message",    "conn": N, "mail_from": ADDR ("" for <>), "mail_options": [...],
                          "rcpt_tos": [...], "rcpt_options": [...], "data_b64": ...,
                          "tls": "TLSv1.3 TLS_AES_256_GCM_SHA384" or "", "t": UNIX}
  {"event": "disconnect", "conn": N, "active": K, "t": UNIX}
"active" counts open connections including this one (connect) / after it
ended (disconnect). "READY" is printed on stdout once the socket listens.
"""

import argparse
import asyncio
import base64
import json
import logging
import ssl
import sys
import time

from aiosmtpd.smtp import SMTP


class Journal:
    """Append-only JSONL file; every record is flushed before the reply goes out."""

    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8", buffering=1)

    def write(self, **record):
        record.setdefault("t", time.time())
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()


class Rules:
    """RCPT answers by address (see the module doc)."""

    def __init__(self, specs):
        self.rules = {}
        self.seen = {}
        for spec in specs:
            address, sep, how = spec.rpartition("=")
            if not sep or not address:
                raise SystemExit(f"bad --rule {spec!r}: expected ADDRESS=SPEC")
            if how in ("550", "450"):
                self.rules[address.lower()] = (how, None)
            elif how.startswith("450x") and how[4:].isdigit():
                self.rules[address.lower()] = ("450", int(how[4:]))
            else:
                raise SystemExit(f"bad --rule {spec!r}: SPEC is 550, 450 or 450xN")

    def reply(self, address):
        key = address.lower()
        rule = self.rules.get(key)
        if rule is None:
            return None
        code, times = rule
        count = self.seen.get(key, 0)
        self.seen[key] = count + 1
        if code == "550":
            return f"550 5.1.1 <{address}>: Recipient address rejected: test rule"
        if times is None or count < times:
            return f"450 4.2.1 <{address}>: Mailbox busy, try again (test rule, try {count + 1})"
        return None


class Recorder:
    """aiosmtpd handler: answers RCPT by rule, records each delivered envelope."""

    def __init__(self, journal, rules, data_delay):
        self.journal = journal
        self.rules = rules
        self.data_delay = data_delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.rules.reply(address)
        self.journal.write(event="rcpt", conn=session.conn_id, rcpt=address,
                           options=list(rcpt_options), reply=reply or "250 2.1.5 Ok")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.append(" ".join(rcpt_options))
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay > 0:
            await asyncio.sleep(self.data_delay)
        sender = envelope.mail_from
        self.journal.write(
            event="message", conn=session.conn_id,
            mail_from="" if sender in ("<>", "") else sender,
            mail_options=list(envelope.mail_options),
            rcpt_tos=list(envelope.rcpt_tos), rcpt_options=list(envelope.rcpt_options),
            data_b64=base64.b64encode(envelope.original_content or b"").decode(),
            tls=tls_description(session))
        return "250 2.0.0 Ok: recorded"


def tls_description(session):
    """"TLSv1.3 <cipher>" once STARTTLS is done (aiosmtpd keeps the SSL
    transport's extra info in session.ssl), else ""."""
    cipher = (session.ssl or {}).get("cipher")
    return f"{cipher[1]} {cipher[0]}" if cipher else ""


class CountingSMTP(SMTP):
    """aiosmtpd's SMTP session that also journals connects and disconnects."""

    counter = 0
    active = 0

    def __init__(self, handler, journal, **kwargs):
        super().__init__(handler, **kwargs)
        self.journal = journal

    def connection_made(self, transport):
        super().connection_made(transport)
        CountingSMTP.counter += 1
        CountingSMTP.active += 1
        self.session.conn_id = CountingSMTP.counter
        self.journal.write(event="connect", conn=self.session.conn_id,
                           peer=list(transport.get_extra_info("peername") or ()),
                           active=CountingSMTP.active)

    def connection_lost(self, error):
        CountingSMTP.active -= 1
        self.journal.write(event="disconnect", conn=self.session.conn_id,
                           active=CountingSMTP.active)
        super().connection_lost(error)


async def serve(args):
    host, _, port = args.listen.rpartition(":")
    journal = Journal(args.out)
    handler = Recorder(journal, Rules(args.rule), args.data_delay)
    loop = asyncio.get_running_loop()
    tls_context = None
    if args.tls_cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.tls_cert, args.tls_key)
    server = await loop.create_server(
        lambda: CountingSMTP(handler, journal, hostname=args.hostname, decode_data=False,
                             enable_SMTPUTF8=True, timeout=30, tls_context=tls_context,
                             data_size_limit=args.size_limit),
        host=host, port=int(port), reuse_address=True)
    print("READY", flush=True)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, help="IP:PORT on loopback")
    parser.add_argument("--out", required=True, help="JSONL event file (appended)")
    parser.add_argument("--hostname", default="recorder.test")
    parser.add_argument("--data-delay", type=float, default=0.0)
    parser.add_argument("--rule", action="append", default=[])
    parser.add_argument("--tls-cert", help="PEM certificate chain: offer STARTTLS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--size-limit", type=int, default=32 << 20)
    args = parser.parse_args()
    if bool(args.tls_cert) != bool(args.tls_key):
        raise SystemExit("--tls-cert and --tls-key go together")
    if not args.listen.startswith("127."):
        raise SystemExit("loopback addresses only (127.0.0.0/8)")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
