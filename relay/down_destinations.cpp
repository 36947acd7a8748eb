// relay/down_destinations.cpp — see down_destinations.h.
#include "relay/down_destinations.h"

#include <algorithm>
#include <map>

namespace ringmta::relay {

void DownDestinations::mark(const std::string& key, smtp::RecipientResult error, std::string host, std::string addr,
                            Clock::time_point now) {
  if (!enabled()) return;
  if (entries_.size() >= sweep_at_) {
    for (auto it = entries_.begin(); it != entries_.end();) it = it->second.until <= now ? entries_.erase(it) : ++it;
    sweep_at_ = std::max(kMinSweep, 2 * entries_.size());
  }
  Entry& e = entries_[key];
  e.until = now + hold_;
  e.error = std::move(error);
  e.host = std::move(host);
  e.addr = std::move(addr);
}

const DownDestinations::Entry* DownDestinations::find(const std::string& key, Clock::time_point now, bool* expired) {
  if (expired) *expired = false;
  if (entries_.empty()) return nullptr;  // the usual case: one branch per job
  auto it = entries_.find(key);
  if (it == entries_.end()) return nullptr;
  if (it->second.until <= now) {
    entries_.erase(it);
    if (expired) *expired = true;
    return nullptr;
  }
  return &it->second;
}

const DownDestinations::Entry* DownDestinations::peek(const std::string& key, Clock::time_point now) const {
  if (entries_.empty()) return nullptr;
  auto it = entries_.find(key);
  return it != entries_.end() && it->second.until > now ? &it->second : nullptr;
}

bool DownDestinations::forget(const std::string& key) {
  return !entries_.empty() && entries_.erase(key) > 0;
}

size_t DownDestinations::forget_if(const std::function<bool(const std::string&)>& pred) {
  size_t n = 0;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!pred || pred(it->first)) {
      it = entries_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::vector<DownDestinations::Live> DownDestinations::live(Clock::time_point now) const {
  std::vector<Live> out;
  for (const auto& [key, e] : entries_) {
    if (e.until <= now) continue;  // expired, not yet dropped
    Live l;
    l.key = key;
    l.left = std::chrono::ceil<std::chrono::seconds>(e.until - now);
    l.error = e.error.text;
    l.host = e.host;
    l.addr = e.addr;
    out.push_back(std::move(l));
  }
  std::sort(out.begin(), out.end(), [](const Live& a, const Live& b) { return a.key < b.key; });
  return out;
}

std::vector<DownDestinations::Live> DownDestinations::merge(const std::vector<std::vector<Live>>& per_shard) {
  std::map<std::string, const Live*> best;
  for (const auto& shard : per_shard) {
    for (const Live& l : shard) {
      const Live*& b = best[l.key];
      if (!b || l.left > b->left) b = &l;
    }
  }
  std::vector<Live> out;
  out.reserve(best.size());
  for (const auto& [key, l] : best) out.push_back(*l);
  return out;
}

smtp::RecipientResult DownDestinations::suspended_result(const Entry& e) {
  smtp::RecipientResult r = e.error;
  r.outcome = smtp::Outcome::TempFail;  // only temporary failures are remembered; be sure
  r.text = "delivery temporarily suspended: " + e.error.text;
  r.local = true;  // our words now, not a remote reply
  r.relayed = false;
  return r;
}

}  // namespace ringmta::relay
