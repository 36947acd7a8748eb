// limits/conn_limits.cpp — see conn_limits.h.
#include "limits/conn_limits.h"

#include "limits/client_key.h"

namespace ringmta::limits {

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

}  // namespace ringmta::limits
