// limits/handshake_budget.cpp — see handshake_budget.h.
#include "limits/handshake_budget.h"

#include <algorithm>

#include "limits/client_key.h"

namespace ringmta::limits {

namespace {
// Forget full per-client buckets once the map is this large (at most once a second).
constexpr size_t kSweepAbove = 4096;
}  // namespace

HandshakeBudget::HandshakeBudget(unsigned per_second, unsigned per_ip_per_minute)
    : per_second_(per_second), per_ip_per_minute_(per_ip_per_minute), total_{double(per_second), Clock::now()} {}

bool HandshakeBudget::take(Bucket& b, double capacity, double per_second, Clock::time_point now) {
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(capacity, b.tokens + elapsed * per_second);
    b.last = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

HandshakeBudget::Verdict HandshakeBudget::admit(const std::string& client_ip, bool trusted, Clock::time_point now) {
  std::lock_guard lock(mu_);
  // The client's bucket first: a client over its own budget must not use up the total.
  Bucket* mine = nullptr;
  if (per_ip_per_minute_ != 0 && !trusted) {
    const double cap = per_ip_per_minute_;
    auto [it, fresh] = by_client_.try_emplace(client_key(client_ip), Bucket{cap, now});
    mine = &it->second;
    if (!take(*mine, cap, cap / 60.0, now)) return Verdict::TooManyFromClient;
  }
  if (per_second_ != 0 && !take(total_, per_second_, per_second_, now)) {
    if (mine) mine->tokens += 1.0;  // not started: give the client its token back
    return Verdict::TooManyInTotal;
  }
  if (by_client_.size() > kSweepAbove) sweep(now);
  return Verdict::Ok;
}

// Drop clients whose bucket has refilled: they are as if never seen.
void HandshakeBudget::sweep(Clock::time_point now) {
  if (now - last_sweep_ < std::chrono::seconds(1)) return;
  last_sweep_ = now;
  const double cap = per_ip_per_minute_;
  for (auto it = by_client_.begin(); it != by_client_.end();) {
    const double elapsed = std::chrono::duration<double>(now - it->second.last).count();
    if (it->second.tokens + elapsed * cap / 60.0 >= cap) it = by_client_.erase(it);
    else ++it;
  }
}

size_t HandshakeBudget::tracked_clients() const {
  std::lock_guard lock(mu_);
  return by_client_.size();
}

}  // namespace ringmta::limits
