// admin/metrics_census.cpp — see metrics_census.h.
#include "admin/metrics_census.h"

#include <algorithm>
#include <unordered_map>

#include "relay/routing.h"

namespace ringmta::admin {

namespace {
struct DomainTally {
  uint64_t messages = 0;
  int64_t last_attempt_ms = -1;
  std::string last_error;
};
}  // namespace

std::string error_label(std::string_view text) {
  std::string out;
  out.reserve(std::min<size_t>(text.size(), 120));
  for (char c : text) {
    if (out.size() >= 120) break;
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? ' ' : c);
  }
  // Never cut a UTF-8 sequence in half (label values must be valid UTF-8).
  if (text.size() > out.size()) {
    size_t end = out.size();
    while (end > 0 && (static_cast<unsigned char>(out[end - 1]) & 0xC0) == 0x80) --end;
    if (end > 0 && static_cast<unsigned char>(out[end - 1]) >= 0xC0) out.resize(end - 1);
  }
  return out;
}

QueueCensus take_census(queue::Queue& queue, int64_t now_ms, size_t top_n) {
  QueueCensus c;
  int64_t oldest = INT64_MAX;
  std::unordered_map<std::string, DomainTally> domains;
  std::vector<std::string> seen;  // domains counted for the current message
  queue::Status st = queue.scan([&](const queue::Envelope& env) {
    ++c.total;
    oldest = std::min(oldest, env.arrival_ms);
    if (env.flags & queue::kFlagHeld) {
      ++c.held;
    } else {
      bool due = false;
      for (const auto& r : env.recipients)
        due |= r.state == queue::RecipientState::Pending && r.next_attempt_ms <= now_ms;
      ++(due ? c.ready : c.scheduled);
    }
    seen.clear();
    for (const auto& r : env.recipients) {
      if (r.state != queue::RecipientState::Pending) continue;
      std::string domain = mail::recipient_domain(r.address);
      DomainTally& t = domains[domain];
      if (std::find(seen.begin(), seen.end(), domain) == seen.end()) {
        ++t.messages;
        seen.push_back(std::move(domain));
      }
      if (r.attempts > 0 && r.last_attempt_ms > t.last_attempt_ms && !r.last_reply.empty()) {
        t.last_attempt_ms = r.last_attempt_ms;
        t.last_error = r.last_reply;
      }
    }
    return true;
  });
  if (!st.ok()) {
    c.error = st.message;
    return c;
  }
  c.ok = true;
  if (c.total > 0) c.oldest_age_seconds = std::max<double>(0, static_cast<double>(now_ms - oldest) / 1000.0);

  std::vector<std::pair<std::string, DomainTally*>> order;
  order.reserve(domains.size());
  for (auto& [name, t] : domains) order.emplace_back(name, &t);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return a.second->messages != b.second->messages ? a.second->messages > b.second->messages : a.first < b.first;
  });
  Destination other{"other", 0, {}};
  for (size_t i = 0; i < order.size(); ++i) {
    if (i < top_n && order[i].first != "other") {
      c.destinations.push_back({order[i].first, order[i].second->messages, error_label(order[i].second->last_error)});
    } else {
      other.messages += order[i].second->messages;
    }
  }
  if (other.messages > 0) c.destinations.push_back(std::move(other));
  return c;
}

}  // namespace ringmta::admin
