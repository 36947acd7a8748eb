#!/usr/bin/python3
"""tests/integration/policy_dns.py — a DNS server for the MTA-STS and DANE tests.

Usage: policy_dns.py PORT ZONEFILE. Serves UDP and TCP on 127.0.0.1:PORT only.
ZONEFILE is JSON, read again for every query (a test rewrites it to change
the world): a list of records
  {"name": "mx.dane.test", "type": "TLSA", "value": [3, 1, 1, "hex"], "ad": true}
  {"name": "dane.test", "type": "MX", "value": [10, "mx.dane.test"]}
  {"name": "mx.dane.test", "type": "A", "value": "127.0.0.3"}
  {"name": "_mta-sts.sts.test", "type": "TXT", "value": "v=STSv1; id=1"}
  {"name": "_25._tcp.mx.dane.test", "rcode": "SERVFAIL"}   (every type of that name)
Answers: the records of the asked name and type (AD set when every one of
them says "ad": true, as a validating resolver would for signed data);
NODATA when the name has other types; NXDOMAIN otherwise. It is not a
validating resolver: the AD bit is exactly what the zone file says, which is
the point — the relay must trust it only from delivery.dnssec_resolver.
"""
import json
import socket
import struct
import sys
import threading

from dnslib import A, MX, QTYPE, RCODE, RR, TLSA, TXT, DNSRecord


def answer(request, zonefile):
    q = request.q
    name = str(q.qname).rstrip(".").lower()
    qtype = QTYPE[q.qtype]
    reply = request.reply()
    reply.header.ra = 1
    reply.header.ad = 0  # reply() copies the query's flags, and the relay's query has AD set
    try:
        with open(zonefile) as f:
            zone = json.load(f)
    except (OSError, ValueError):
        reply.header.rcode = RCODE.SERVFAIL
        return reply
    records = [r for r in zone if r["name"].lower() == name]
    failing = [r for r in records if "rcode" in r]
    if failing:
        reply.header.rcode = getattr(RCODE, failing[0]["rcode"])
        return reply
    matching = [r for r in records if r["type"] == qtype]
    for r in matching:
        v = r["value"]
        if qtype == "A":
            rdata = A(v)
        elif qtype == "MX":
            rdata = MX(v[1], v[0])
        elif qtype == "TXT":
            rdata = TXT(v)
        elif qtype == "TLSA":
            rdata = TLSA(v[0], v[1], v[2], bytes.fromhex(v[3]))
        else:
            continue
        reply.add_answer(RR(q.qname, getattr(QTYPE, qtype), rdata=rdata, ttl=60))
    if matching and all(r.get("ad") for r in matching):
        reply.header.ad = 1
    if not records:
        reply.header.rcode = RCODE.NXDOMAIN
    return reply


def serve_udp(sock, zonefile):
    while True:
        data, peer = sock.recvfrom(4096)
        try:
            sock.sendto(answer(DNSRecord.parse(data), zonefile).pack(), peer)
        except Exception as e:  # a bad packet must not stop the server
            print("udp:", e, file=sys.stderr, flush=True)


def serve_tcp_client(conn, zonefile):
    with conn:
        while True:
            head = conn.recv(2)
            if len(head) < 2:
                return
            (n,) = struct.unpack(">H", head)
            data = b""
            while len(data) < n:
                chunk = conn.recv(n - len(data))
                if not chunk:
                    return
                data += chunk
            out = answer(DNSRecord.parse(data), zonefile).pack()
            conn.sendall(struct.pack(">H", len(out)) + out)


def main():
    port, zonefile = int(sys.argv[1]), sys.argv[2]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind(("127.0.0.1", port))
    tcp.listen(16)
    threading.Thread(target=serve_udp, args=(udp, zonefile), daemon=True).start()
    print("READY", flush=True)
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=serve_tcp_client, args=(conn, zonefile), daemon=True).start()


if __name__ == "__main__":
    main()
