// engine/address.cpp — SocketAddress parsing and printing.
//
// Only two text forms are accepted, "a.b.c.d:port" and "[v6]:port", so that a
// configuration typo (missing port, bare v6 without brackets, port 70000) is an
// error at load time rather than a surprise at bind time.
#include "engine/address.h"

#include <arpa/inet.h>

#include <cstring>

namespace ringmta::engine {

SocketAddress::SocketAddress(const sockaddr* sa, socklen_t len) {
  if (sa == nullptr || len == 0) return;
  if (len > sizeof(storage_)) len = sizeof(storage_);
  std::memcpy(&storage_, sa, len);
  len_ = len;
}

namespace {

// Strict decimal port: 1-5 digits, value <= 65535.
std::optional<uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  if (v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

}  // namespace

std::optional<SocketAddress> SocketAddress::from_ip(std::string_view ip, uint16_t port) {
  // inet_pton needs a NUL-terminated string; addresses are short.
  // An embedded NUL would end the copy early: "127.0.0.1\0junk" must not
  // parse as 127.0.0.1.
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN || ip.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, ip.data(), ip.size());
  buf[ip.size()] = '\0';

  SocketAddress out;
  sockaddr_in v4{};
  if (inet_pton(AF_INET, buf, &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(port);
    std::memcpy(&out.storage_, &v4, sizeof(v4));
    out.len_ = sizeof(v4);
    return out;
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, buf, &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(port);
    std::memcpy(&out.storage_, &v6, sizeof(v6));
    out.len_ = sizeof(v6);
    return out;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::parse(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    size_t close = text.find("]:");
    if (close == std::string_view::npos) return std::nullopt;
    auto port = parse_port(text.substr(close + 2));
    if (!port) return std::nullopt;
    std::string_view host = text.substr(1, close - 1);
    // Brackets are for v6 only: "[1.2.3.4]:25" is rejected.
    if (host.find(':') == std::string_view::npos) return std::nullopt;
    return from_ip(host, *port);
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  // An unbracketed host must be IPv4 (a v6 literal would be ambiguous).
  if (host.find(':') != std::string_view::npos) return std::nullopt;
  auto port = parse_port(text.substr(colon + 1));
  if (!port) return std::nullopt;
  return from_ip(host, *port);
}

uint16_t SocketAddress::port() const {
  if (storage_.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (storage_.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

bool SocketAddress::is_wildcard() const {
  if (storage_.ss_family == AF_INET)
    return reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr.s_addr == htonl(INADDR_ANY);
  if (storage_.ss_family == AF_INET6)
    return IN6_IS_ADDR_UNSPECIFIED(&reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr);
  return false;
}

std::string SocketAddress::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (storage_.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof(buf));
    return buf;
  }
  if (storage_.ss_family == AF_INET6) {
    const auto* a6 = &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr;
    if (IN6_IS_ADDR_V4MAPPED(a6)) {
      inet_ntop(AF_INET, &a6->s6_addr[12], buf, sizeof(buf));
    } else {
      inet_ntop(AF_INET6, a6, buf, sizeof(buf));
    }
    return buf;
  }
  return {};
}

std::string SocketAddress::to_string() const {
  std::string host = ip();
  if (host.empty()) return {};
  std::string port_text = std::to_string(port());
  // ip() prints v4-mapped addresses as v4, so only real v6 gets brackets.
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

}  // namespace ringmta::engine
