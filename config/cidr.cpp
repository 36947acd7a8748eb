// config/cidr.cpp — IPv4/IPv6 network prefixes for relay.trusted_networks and
// other address-based policy.
//
// Decisions (also documented in deploy/ringmta.toml):
//  * A bare address means a single host: "10.1.2.3" is 10.1.2.3/32, "::1" is ::1/128.
//  * Host bits set after the prefix ("10.1.2.3/8") are REJECTED, with the masked
//    form suggested. Postfix masks such entries with a warning; for a list that
//    decides who may relay, a typo that silently widens trust to a /8 is worse
//    than a refused start.
//  * A v4-mapped IPv6 prefix ("::ffff:10.0.0.0/104") is stored as the IPv4 prefix
//    it denotes (10.0.0.0/8), so it matches plain IPv4 clients too.
//  * contains(): an IPv4 client matches IPv4 prefixes; a v4-mapped IPv6 client
//    (::ffff:a.b.c.d, what a dual-stack [::] listener reports for IPv4 peers) is
//    matched as the IPv4 address it carries; other IPv6 clients match IPv6 prefixes.
//    "::/0" therefore does not match IPv4 clients.
#include "config/cidr.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ringmta::config {
namespace {

constexpr std::array<uint8_t, 12> kV4MappedPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

// True when the first `prefix` bits of a and b are equal.
bool prefix_equal(const uint8_t* a, const uint8_t* b, unsigned prefix) {
  unsigned full = prefix / 8;
  if (std::memcmp(a, b, full) != 0) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (b[full] & mask);
}

// Clears every bit after the first `prefix` bits of the `len`-byte address.
void mask_bytes(uint8_t* bytes, size_t len, unsigned prefix) {
  for (size_t i = 0; i < len; ++i) {
    unsigned bit = static_cast<unsigned>(i) * 8;
    if (bit >= prefix) {
      bytes[i] = 0;
    } else if (prefix - bit < 8) {
      bytes[i] &= static_cast<uint8_t>(0xff << (8 - (prefix - bit)));
    }
  }
}

std::string format(bool v6, const uint8_t* bytes, unsigned prefix) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v6 ? AF_INET6 : AF_INET, bytes, buf, sizeof buf);
  return std::string(buf) + "/" + std::to_string(prefix);
}

}  // namespace

base::Result<Cidr> Cidr::parse(std::string_view text) {
  std::string_view ip = text;
  std::optional<unsigned> prefix;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    ip = text.substr(0, slash);
    std::string_view digits = text.substr(slash + 1);
    unsigned value = 0;
    // Digits only (no sign, no spaces), no leading zeros, at most 3 digits.
    bool ok = !digits.empty() && digits.size() <= 3 &&
              std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
              !(digits.size() > 1 && digits[0] == '0');
    if (ok) std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (!ok) {
      return base::Error("bad prefix length '/" + std::string(digits) + "'");
    }
    prefix = value;
  }
  // inet_pton needs a NUL-terminated string; addresses are short.
  if (ip.empty() || ip.size() >= INET6_ADDRSTRLEN) {
    return base::Error("not an IP address");
  }
  char buf[INET6_ADDRSTRLEN] = {};
  std::memcpy(buf, ip.data(), ip.size());

  Cidr cidr;
  if (inet_pton(AF_INET, buf, cidr.bytes_.data()) == 1) {
    cidr.v6_ = false;
  } else if (inet_pton(AF_INET6, buf, cidr.bytes_.data()) == 1) {
    cidr.v6_ = true;
  } else {
    return base::Error("not an IP address");
  }
  unsigned max = cidr.v6_ ? 128 : 32;
  cidr.prefix_ = prefix.value_or(max);
  if (cidr.prefix_ > max) {
    return base::Error("prefix length /" + std::to_string(cidr.prefix_) + " is longer than " +
                         std::to_string(max) + " bits");
  }
  std::array<uint8_t, 16> masked = cidr.bytes_;
  mask_bytes(masked.data(), cidr.v6_ ? 16 : 4, cidr.prefix_);
  if (masked != cidr.bytes_) {
    return base::Error("host bits are set after the prefix (did you mean '" +
                         format(cidr.v6_, masked.data(), cidr.prefix_) + "'?)");
  }
  // ::ffff:a.b.c.d/96+n is the IPv4 prefix a.b.c.d/n written in IPv6 form.
  if (cidr.v6_ && cidr.prefix_ >= 96 &&
      std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), cidr.bytes_.begin())) {
    std::array<uint8_t, 16> v4{};
    std::copy_n(cidr.bytes_.begin() + 12, 4, v4.begin());
    cidr.bytes_ = v4;
    cidr.v6_ = false;
    cidr.prefix_ -= 96;
  }
  return cidr;
}

bool Cidr::contains(const engine::SocketAddress& address) const {
  if (address.family() == AF_INET) {
    if (v6_) return false;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(address.data());
    return prefix_equal(reinterpret_cast<const uint8_t*>(&sin->sin_addr), bytes_.data(), prefix_);
  }
  if (address.family() == AF_INET6) {
    const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(address.data());
    const auto* bytes = reinterpret_cast<const uint8_t*>(&sin6->sin6_addr);
    // A v4-mapped client is an IPv4 client on a dual-stack socket: it is
    // matched as IPv4 only, so "::/0" means the same for it on any listener.
    if (std::equal(kV4MappedPrefix.begin(), kV4MappedPrefix.end(), bytes))
      return !v6_ && prefix_equal(bytes + 12, bytes_.data(), prefix_);
    return v6_ && prefix_equal(bytes, bytes_.data(), prefix_);
  }
  return false;  // unset or non-IP address
}

std::string Cidr::to_string() const { return format(v6_, bytes_.data(), prefix_); }

bool any_contains(const std::vector<Cidr>& networks, const engine::SocketAddress& address) {
  return std::any_of(networks.begin(), networks.end(),
                     [&](const Cidr& c) { return c.contains(address); });
}

}  // namespace ringmta::config
