// proto/proxy/proxy_protocol.h — the PROXY protocol header (HAProxy's
// "proxy-protocol.txt", versions 1 and 2) that L4 load balancers (HAProxy,
// nginx stream, AWS NLB, GCP/Azure LBs) put in front of a TCP stream to pass
// on the real client address.
//
// Pure: bytes in, a parse result out (no sockets, no clocks), so it is unit-
// and golden-tested and fuzzed on bytes alone. The inbound glue feeds it what
// the connection has received so far, until it says Ok or Invalid; the bytes
// after `consumed` are the first bytes of the SMTP stream.
//
// Accepted:
//   v1: "PROXY TCP4 <src> <dst> <sport> <dport>\r\n", "PROXY TCP6 ...\r\n",
//       "PROXY UNKNOWN[ anything]\r\n" (at most 107 bytes with the CRLF).
//   v2: the 12-byte signature, version 2, command LOCAL or PROXY; PROXY with
//       AF_INET/AF_INET6 over STREAM carries addresses; AF_UNSPEC and AF_UNIX
//       count as "local" (no client address to take). TLVs are skipped.
// Anything else — another first byte, a bad address or port, a v1 line
// without CRLF within 107 bytes, DGRAM transport, an unknown version or
// command, an address block shorter than its family needs — is Invalid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::proxy {

struct ProxyHeader {
  int version = 0;           // 1 or 2
  // true: the header carries no client address (v1 UNKNOWN, v2 LOCAL, v2
  // AF_UNSPEC/AF_UNIX): keep the connection's own peer address (health checks).
  bool local = false;
  bool ipv6 = false;
  std::string source_ip;     // "192.0.2.1" / "2001:db8::1" (canonical text); empty when local
  std::string dest_ip;
  uint16_t source_port = 0;
  uint16_t dest_port = 0;
};

enum class ProxyStatus { NeedMore, Ok, Invalid };

struct ProxyParse {
  ProxyStatus status = ProxyStatus::NeedMore;
  size_t consumed = 0;  // Ok: length of the header (the stream continues after it)
  ProxyHeader header;   // Ok only
  std::string error;    // Invalid only: why, for the log
};

constexpr size_t kProxyV1MaxLength = 107;          // spec: worst case with CRLF
constexpr size_t kProxyV2MaxLength = 16 + 65535;   // fixed part + largest length field

// Parse the start of `bytes`. NeedMore while every byte so far can still begin
// a valid header (callers bound the wait with a timeout and the sizes above).
ProxyParse parse_proxy_header(std::string_view bytes);

// Encoders (tests, fuzz round trips, the load-balancer side of tooling).
// `h.local` gives "PROXY UNKNOWN\r\n" / a v2 LOCAL header.
std::string encode_proxy_v1(const ProxyHeader& h);
std::string encode_proxy_v2(const ProxyHeader& h);

}  // namespace ringmta::proxy
