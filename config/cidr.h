// config/cidr.h — IPv4/IPv6 network prefixes ("127.0.0.0/8", "::1/128") and
// membership tests for client addresses (v4-mapped IPv6 matches IPv4 prefixes).
//
// A bare address is a single host (/32, /128). Host bits set after the prefix
// ("10.1.2.3/8") are rejected rather than masked. See config/cidr.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "engine/address.h"

namespace ringmta::config {

class Cidr {
 public:
  // The prefix, or a short reason such as "host bits are set after the
  // prefix (did you mean '10.0.0.0/8'?)".
  static base::Result<Cidr> parse(std::string_view text);
  bool contains(const engine::SocketAddress& address) const;
  std::string to_string() const;  // canonical form, e.g. "10.0.0.0/8", "::1/128"
  bool is_v6() const { return v6_; }
  unsigned prefix_length() const { return prefix_; }
  bool operator==(const Cidr&) const = default;

 private:
  bool v6_ = false;
  std::array<uint8_t, 16> bytes_{};
  unsigned prefix_ = 0;
};

bool any_contains(const std::vector<Cidr>& networks, const engine::SocketAddress& address);

}  // namespace ringmta::config
