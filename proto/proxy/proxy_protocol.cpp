// proto/proxy/proxy_protocol.cpp — see proxy_protocol.h.
#include "proto/proxy/proxy_protocol.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace ringmta::proxy {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr char kV2Signature[12] = {'\r', '\n', '\r', '\n', '\0', '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
constexpr std::string_view kV2Sig(kV2Signature, sizeof kV2Signature);

ProxyParse invalid(std::string why) {
  ProxyParse p;
  p.status = ProxyStatus::Invalid;
  p.error = std::move(why);
  return p;
}

// Is `bytes` (shorter than `whole`, or not) a prefix of `whole` / does it start with it?
bool prefix_of(std::string_view bytes, std::string_view whole) {
  const size_t n = std::min(bytes.size(), whole.size());
  return bytes.substr(0, n) == whole.substr(0, n);
}

// Canonical text of an address in `family` from its text form; "" if invalid.
std::string canonical_ip(int family, std::string_view text) {
  if (text.empty() || text.size() > 45) return {};
  char in[64] = {};
  std::memcpy(in, text.data(), text.size());
  unsigned char raw[16];
  if (inet_pton(family, in, raw) != 1) return {};
  char out[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, raw, out, sizeof out)) return {};
  return out;
}

std::string ip_from_raw(int family, const unsigned char* raw) {
  char out[INET6_ADDRSTRLEN] = {};
  if (!inet_ntop(family, raw, out, sizeof out)) return {};
  return out;
}

// A v1 port: 1 to 5 digits, no leading zero (except "0"), at most 65535.
bool parse_port(std::string_view s, uint16_t& out) {
  if (s.empty() || s.size() > 5 || (s.size() > 1 && s[0] == '0')) return false;
  uint32_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint32_t>(c - '0');
  }
  if (v > 65535) return false;
  out = static_cast<uint16_t>(v);
  return true;
}

ProxyParse parse_v1(std::string_view bytes) {
  const size_t window = std::min(bytes.size(), kProxyV1MaxLength);
  const size_t cr = bytes.substr(0, window).find('\r');
  const size_t lf = bytes.substr(0, window).find('\n');
  if (lf != std::string_view::npos && (cr == std::string_view::npos || lf < cr))
    return invalid("PROXY v1 line ends in a bare LF");
  if (cr == std::string_view::npos || cr + 1 >= bytes.size()) {
    if (bytes.size() >= kProxyV1MaxLength) return invalid("PROXY v1 line longer than 107 bytes");
    return {};  // NeedMore
  }
  if (bytes[cr + 1] != '\n') return invalid("PROXY v1 line: CR not followed by LF");
  if (cr + 2 > kProxyV1MaxLength) return invalid("PROXY v1 line longer than 107 bytes");

  std::string_view line = bytes.substr(kV1Prefix.size(), cr - kV1Prefix.size());
  ProxyParse p;
  p.status = ProxyStatus::Ok;
  p.consumed = cr + 2;
  p.header.version = 1;
  // "UNKNOWN" may be followed by anything (the spec says receivers ignore it).
  if (line == "UNKNOWN" || line.rfind("UNKNOWN ", 0) == 0) {
    p.header.local = true;
    return p;
  }
  // Exactly one space between fields (the line is at most 107 bytes).
  std::string_view fields[6];
  size_t n = 0;
  for (size_t start = 0; n < 6;) {
    const size_t sp = line.find(' ', start);
    fields[n++] = line.substr(start, sp == std::string_view::npos ? std::string_view::npos : sp - start);
    if (sp == std::string_view::npos) break;
    start = sp + 1;
  }
  if (n != 5) return invalid("PROXY v1 line needs 5 fields after PROXY (protocol, 2 addresses, 2 ports)");
  int family;
  if (fields[0] == "TCP4") {
    family = AF_INET;
  } else if (fields[0] == "TCP6") {
    family = AF_INET6;
    p.header.ipv6 = true;
  } else {
    return invalid("PROXY v1: unknown protocol '" + std::string(fields[0].substr(0, 16)) +
                   "' (expected TCP4, TCP6 or UNKNOWN)");
  }
  p.header.source_ip = canonical_ip(family, fields[1]);
  p.header.dest_ip = canonical_ip(family, fields[2]);
  if (p.header.source_ip.empty() || p.header.dest_ip.empty())
    return invalid(std::string("PROXY v1: bad ") + (family == AF_INET ? "IPv4" : "IPv6") + " address");
  if (!parse_port(fields[3], p.header.source_port) || !parse_port(fields[4], p.header.dest_port))
    return invalid("PROXY v1: bad port");
  return p;
}

ProxyParse parse_v2(std::string_view bytes) {
  if (bytes.size() < 16) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned version = b[12] >> 4, command = b[12] & 0x0f;
  const unsigned family = b[13] >> 4, transport = b[13] & 0x0f;
  const size_t len = (static_cast<size_t>(b[14]) << 8) | b[15];
  if (version != 2) return invalid("PROXY v2: unsupported version " + std::to_string(version));
  if (command > 1) return invalid("PROXY v2: unknown command " + std::to_string(command));
  if (family > 3) return invalid("PROXY v2: unknown address family " + std::to_string(family));
  if (transport > 2) return invalid("PROXY v2: unknown transport " + std::to_string(transport));
  if (bytes.size() < 16 + len) return {};  // NeedMore (len <= 65535: bounded)

  ProxyParse p;
  p.status = ProxyStatus::Ok;
  p.consumed = 16 + len;
  p.header.version = 2;
  // LOCAL: the proxy speaks for itself (health checks); the block is ignored.
  if (command == 0 || family == 0 || family == 3) {
    p.header.local = true;
    return p;
  }
  if (transport != 1) return invalid("PROXY v2: only STREAM (TCP) connections are accepted");
  const unsigned char* a = b + 16;
  if (family == 1) {  // AF_INET: 4 + 4 + 2 + 2
    if (len < 12) return invalid("PROXY v2: address block too short for IPv4");
    p.header.source_ip = ip_from_raw(AF_INET, a);
    p.header.dest_ip = ip_from_raw(AF_INET, a + 4);
    p.header.source_port = static_cast<uint16_t>((a[8] << 8) | a[9]);
    p.header.dest_port = static_cast<uint16_t>((a[10] << 8) | a[11]);
  } else {  // AF_INET6: 16 + 16 + 2 + 2
    if (len < 36) return invalid("PROXY v2: address block too short for IPv6");
    p.header.ipv6 = true;
    p.header.source_ip = ip_from_raw(AF_INET6, a);
    p.header.dest_ip = ip_from_raw(AF_INET6, a + 16);
    p.header.source_port = static_cast<uint16_t>((a[32] << 8) | a[33]);
    p.header.dest_port = static_cast<uint16_t>((a[34] << 8) | a[35]);
  }
  // TLVs (len beyond the addresses) are skipped: nothing in them changes
  // what SMTP needs, and unknown TLVs must be ignored per the spec.
  return p;
}

void put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xff));
}

}  // namespace

ProxyParse parse_proxy_header(std::string_view bytes) {
  if (bytes.empty()) return {};
  if (prefix_of(bytes, kV2Sig)) return bytes.size() < kV2Sig.size() ? ProxyParse{} : parse_v2(bytes);
  if (prefix_of(bytes, kV1Prefix)) return bytes.size() < kV1Prefix.size() ? ProxyParse{} : parse_v1(bytes);
  return invalid("no PROXY protocol header");
}

std::string encode_proxy_v1(const ProxyHeader& h) {
  if (h.local) return "PROXY UNKNOWN\r\n";
  return std::string("PROXY ") + (h.ipv6 ? "TCP6 " : "TCP4 ") + h.source_ip + " " + h.dest_ip + " " +
         std::to_string(h.source_port) + " " + std::to_string(h.dest_port) + "\r\n";
}

std::string encode_proxy_v2(const ProxyHeader& h) {
  std::string out(kV2Sig);
  if (h.local) {
    out.push_back(0x20);  // version 2, LOCAL
    out.push_back(0x00);  // AF_UNSPEC, UNSPEC
    put16(out, 0);
    return out;
  }
  const int family = h.ipv6 ? AF_INET6 : AF_INET;
  const size_t alen = h.ipv6 ? 16 : 4;
  unsigned char src[16] = {}, dst[16] = {};
  // Invalid text leaves zeros: the encoder is for tests and tools, not input.
  (void)inet_pton(family, h.source_ip.c_str(), src);
  (void)inet_pton(family, h.dest_ip.c_str(), dst);
  out.push_back(0x21);                     // version 2, PROXY
  out.push_back(h.ipv6 ? 0x21 : 0x11);     // AF_INET6/AF_INET, STREAM
  put16(out, static_cast<uint16_t>(2 * alen + 4));
  out.append(reinterpret_cast<const char*>(src), alen);
  out.append(reinterpret_cast<const char*>(dst), alen);
  put16(out, h.source_port);
  put16(out, h.dest_port);
  return out;
}

}  // namespace ringmta::proxy
