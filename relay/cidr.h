// relay/cidr.h — IPv4/IPv6 network prefixes ("127.0.0.0/8", "::1/128") and
// membership tests for client addresses (v4-mapped IPv6 matches IPv4 prefixes).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/address.h"

namespace ringmta::relay {

class Cidr {
 public:
  static std::optional<Cidr> parse(std::string_view text);
  bool contains(const engine::SocketAddress& address) const;
  std::string to_string() const;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};
  unsigned prefix_ = 0;
};

bool any_contains(const std::vector<Cidr>& networks, const engine::SocketAddress& address);

}  // namespace ringmta::relay
