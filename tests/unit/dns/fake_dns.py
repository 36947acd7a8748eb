#!/usr/bin/python3
"""tests/unit/dns/fake_dns.py — a scripted DNS server for faults dnsmasq cannot make.

Usage: fake_dns.py PORT LOGFILE. Serves UDP and TCP on 127.0.0.1:PORT only. Every
query is appended to LOGFILE as "NAME TYPE" (" tcp" added for TCP; flushed before
answering, so a test that got the answer can count queries). Behaviour by query name (lower case):

  servfail.test      SERVFAIL
  refused.test       REFUSED
  silent.test        never answers (timeout)
  nullmx.test        MX "0 ." (RFC 7505 null MX)
  short.test         MX 10 mx.short.test, TTL 2; mx.short.test A 127.0.0.9, TTL 2
  soa-nx.test        NXDOMAIN with an SOA (TTL 300, MINIMUM 30) in the authority section
  halfdead.test      MX 10 mx.halfdead.test; its A answers 127.0.0.8, its AAAA never answers
  big.test           over UDP: empty answer with TC set; over TCP: MX 10 mx.big.test
                     (mx.big.test A 127.0.0.12): exercises c-ares' TCP fallback
  anything else      NXDOMAIN without SOA
"""
import socket
import struct
import sys
import threading

from dnslib import A, MX, QTYPE, RCODE, RR, SOA, DNSRecord


def answer(request, tcp=False):
    q = request.q
    name = str(q.qname).rstrip(".").lower()
    qtype = QTYPE[q.qtype]
    reply = request.reply()
    if name == "silent.test":
        return None
    if name == "servfail.test":
        reply.header.rcode = RCODE.SERVFAIL
    elif name == "refused.test":
        reply.header.rcode = RCODE.REFUSED
    elif name == "nullmx.test":
        if qtype == "MX":
            reply.add_answer(RR(q.qname, QTYPE.MX, rdata=MX(".", 0), ttl=300))
    elif name == "short.test":
        if qtype == "MX":
            reply.add_answer(RR(q.qname, QTYPE.MX, rdata=MX("mx.short.test", 10), ttl=2))
    elif name == "mx.short.test":
        if qtype == "A":
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A("127.0.0.9"), ttl=2))
    elif name == "halfdead.test":
        if qtype == "MX":
            reply.add_answer(RR(q.qname, QTYPE.MX, rdata=MX("mx.halfdead.test", 10), ttl=300))
    elif name == "mx.halfdead.test":
        if qtype == "AAAA":
            return None
        if qtype == "A":
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A("127.0.0.8"), ttl=300))
    elif name == "big.test":
        if not tcp:
            reply.header.tc = 1
        elif qtype == "MX":
            reply.add_answer(RR(q.qname, QTYPE.MX, rdata=MX("mx.big.test", 10), ttl=300))
    elif name == "mx.big.test":
        if qtype == "A":
            reply.add_answer(RR(q.qname, QTYPE.A, rdata=A("127.0.0.12"), ttl=300))
    elif name == "soa-nx.test":
        reply.header.rcode = RCODE.NXDOMAIN
        reply.add_auth(RR("test", QTYPE.SOA, ttl=300,
                          rdata=SOA("ns.test", "admin.test", (1, 3600, 600, 86400, 30))))
    else:
        reply.header.rcode = RCODE.NXDOMAIN
    return reply


def log_query(log, request, tcp):
    log.write("%s %s%s\n" % (str(request.q.qname).rstrip(".").lower(), QTYPE[request.q.qtype],
                             " tcp" if tcp else ""))
    log.flush()


def serve_tcp(port, log):
    """DNS over TCP (2-byte length framing), one connection at a time."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(16)
    while True:
        conn, _ = listener.accept()
        conn.settimeout(5)
        try:
            while True:
                head = conn.recv(2, socket.MSG_WAITALL)
                if len(head) < 2:
                    break
                data = conn.recv(struct.unpack("!H", head)[0], socket.MSG_WAITALL)
                request = DNSRecord.parse(data)
                log_query(log, request, True)
                reply = answer(request, tcp=True)
                if reply is not None:
                    packed = reply.pack()
                    conn.sendall(struct.pack("!H", len(packed)) + packed)
        except Exception:  # noqa: BLE001 - a broken client only ends its connection
            pass
        finally:
            conn.close()


def main():
    port = int(sys.argv[1])
    log = open(sys.argv[2], "a", buffering=1)
    threading.Thread(target=serve_tcp, args=(port, log), daemon=True).start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", port))
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            request = DNSRecord.parse(data)
        except Exception:  # noqa: BLE001 - garbage in, nothing out
            continue
        log_query(log, request, False)
        reply = answer(request)
        if reply is not None:
            sock.sendto(reply.pack(), peer)


if __name__ == "__main__":
    main()
