// relay/routing.cpp — see routing.h.
#include "relay/routing.h"

#include <algorithm>

namespace ringmta::relay {

namespace {
std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}
}  // namespace

std::string recipient_domain(std::string_view address) {
  // The last '@' separates the domain: a quoted local part may hold '@' itself.
  size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {};
  return lower(address.substr(at + 1));
}

std::string route_key(const Config::Delivery& delivery, std::string_view domain) {
  const std::string d = lower(domain);
  if (auto it = delivery.routes.find(d); it != delivery.routes.end()) return "route:" + it->second.text;
  if (delivery.relayhost) return "relayhost";
  return "mx:" + d;
}

unsigned destination_shard(std::string_view key, unsigned shard_count) {
  if (shard_count <= 1) return 0;
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<unsigned>(h % shard_count);
}

}  // namespace ringmta::relay
