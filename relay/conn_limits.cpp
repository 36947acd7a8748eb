// relay/conn_limits.cpp — see conn_limits.h.
#include "relay/conn_limits.h"

#include <arpa/inet.h>

#include <cstring>

namespace ringmta::relay {

std::string client_key(std::string_view ip) {
  const std::string text(ip);
  in6_addr a6{};
  if (text.find(':') == std::string::npos || ::inet_pton(AF_INET6, text.c_str(), &a6) != 1) return text;
  if (IN6_IS_ADDR_V4MAPPED(&a6)) {
    char v4[INET_ADDRSTRLEN];
    if (::inet_ntop(AF_INET, a6.s6_addr + 12, v4, sizeof v4)) return v4;
    return text;
  }
  std::memset(a6.s6_addr + 8, 0, 8);  // keep the /64
  char v6[INET6_ADDRSTRLEN];
  if (!::inet_ntop(AF_INET6, &a6, v6, sizeof v6)) return text;
  return std::string(v6) + "/64";
}

ConnectionLimiter::Verdict ConnectionLimiter::acquire(const std::string& address) {
  std::lock_guard lock(mu_);
  if (max_total_ != 0 && total_ >= max_total_) return Verdict::TooMany;
  unsigned& n = by_address_[client_key(address)];
  if (max_per_address_ != 0 && n >= max_per_address_) return Verdict::TooManyFromAddress;
  ++n;
  ++total_;
  return Verdict::Ok;
}

void ConnectionLimiter::release(const std::string& address) {
  std::lock_guard lock(mu_);
  auto it = by_address_.find(client_key(address));
  if (it == by_address_.end()) return;
  if (--it->second == 0) by_address_.erase(it);
  if (total_ > 0) --total_;
}

unsigned ConnectionLimiter::total() const {
  std::lock_guard lock(mu_);
  return total_;
}

}  // namespace ringmta::relay
