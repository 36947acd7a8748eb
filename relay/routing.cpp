// relay/routing.cpp — see routing.h.
#include "relay/routing.h"

#include "base/text.h"

namespace ringmta::relay {

std::string route_key(const config::Config::Delivery& delivery, std::string_view domain) {
  const std::string d = base::to_lower_ascii(domain);
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
