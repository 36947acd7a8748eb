// limits/client_key.h — what "one client" means for per-client limits
// (connections per IP, SMTP AUTH failure throttling, the TLS handshake
// budget): an IPv4 address, or an IPv6 /64 — the smallest block an end site
// is given, so a client that owns a /64 (and may pick any of its 2^64
// addresses per connection) is one client.
#pragma once

#include <string>
#include <string_view>

namespace ringmta::limits {

// An IPv4 address as it is ("192.0.2.1"; IPv4-mapped IPv6 "::ffff:192.0.2.1"
// too), an IPv6 address as its /64 ("2001:db8:1:2::/64"). Text that is no
// address is returned unchanged.
std::string client_key(std::string_view ip);

}  // namespace ringmta::limits
