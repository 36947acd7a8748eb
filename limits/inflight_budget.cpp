// limits/inflight_budget.cpp — see inflight_budget.h.
#include "limits/inflight_budget.h"

namespace ringmta::limits {

bool InflightBudget::update(uint64_t holder, uint64_t& charged, uint64_t now) {
  uint64_t total;
  if (now >= charged)
    total = used_.fetch_add(now - charged, std::memory_order_relaxed) + (now - charged);
  else
    total = used_.fetch_sub(charged - now, std::memory_order_relaxed) - (charged - now);
  charged = now;
  if (now == 0) {
    uint64_t mine = holder;
    overdraft_.compare_exchange_strong(mine, 0, std::memory_order_relaxed);
    return true;
  }
  if (total <= limit_ || now <= small_) return true;
  uint64_t none = 0;
  if (overdraft_.load(std::memory_order_relaxed) == holder) return true;
  return overdraft_.compare_exchange_strong(none, holder, std::memory_order_relaxed);
}

}  // namespace ringmta::limits
