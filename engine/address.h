// engine/address.h — an IPv4/IPv6 socket address with parsing and printing.
//
// Accepted text forms: "1.2.3.4:25", "[::1]:25". Used by listeners, outbound
// connects and policy checks (CIDR matching lives with the policy, not here).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringmta::engine {

class SocketAddress {
 public:
  SocketAddress() = default;
  SocketAddress(const sockaddr* sa, socklen_t len);

  // Parses "ip:port" or "[ipv6]:port". Returns nullopt on any syntax error.
  static std::optional<SocketAddress> parse(std::string_view text);
  // Parses a bare IP ("127.0.0.1", "::1") with the given port.
  static std::optional<SocketAddress> from_ip(std::string_view ip, uint16_t port);

  const sockaddr* data() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  sockaddr* data() { return reinterpret_cast<sockaddr*>(&storage_); }
  socklen_t size() const { return len_; }
  socklen_t* size_ptr() { return &len_; }
  int family() const { return storage_.ss_family; }
  uint16_t port() const;

  // 0.0.0.0 or :: (a listener bound to every address).
  bool is_wildcard() const;

  std::string ip() const;         // "127.0.0.1" or "::1" (v4-mapped v6 printed as v4)
  std::string to_string() const;  // "127.0.0.1:25" or "[::1]:25"

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace ringmta::engine
