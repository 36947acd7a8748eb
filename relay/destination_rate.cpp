// relay/destination_rate.cpp — see destination_rate.h. Standard library only.
#include "relay/destination_rate.h"

#include <algorithm>
#include <cmath>

namespace ringmta::relay {
namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 3'600'000;

unsigned scaled(unsigned limit, unsigned divisor) {
  if (limit == 0 || divisor <= 1) return limit;
  return std::max(1u, limit / divisor);
}

}  // namespace

bool rate_pattern_matches(std::string_view pattern, std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "gmail.com." (DNS form)
  if (pattern.starts_with("*.")) {
    std::string_view suffix = pattern.substr(1);  // ".google.com"
    return name.size() > suffix.size() && iequal(name.substr(name.size() - suffix.size()), suffix);
  }
  return iequal(pattern, name);
}

TokenBucket::TokenBucket(unsigned limit, int64_t period_ms)
    : limit_(limit), period_ms_(std::max<int64_t>(1, period_ms)), credit_(int64_t{limit} * period_ms_) {}

void TokenBucket::refill(int64_t now_ms) {
  if (!started_) {
    started_ = true;
    last_ms_ = now_ms;
    return;
  }
  if (now_ms <= last_ms_) return;  // a clock that stepped back refills nothing
  const int64_t cap = int64_t{limit_} * period_ms_;
  const int64_t elapsed = std::min(now_ms - last_ms_, period_ms_);  // a full period refills everything
  credit_ = std::min(cap, credit_ + elapsed * int64_t{limit_});
  last_ms_ = now_ms;
}

double TokenBucket::available(int64_t now_ms) {
  if (unlimited()) return 0;
  refill(now_ms);
  return static_cast<double>(credit_) / static_cast<double>(period_ms_);
}

int64_t TokenBucket::wait_ms(int64_t now_ms) {
  if (unlimited()) return 0;
  refill(now_ms);
  if (credit_ >= period_ms_) return 0;
  // Time for the missing part of a token, rounded up to a whole ms.
  return (period_ms_ - credit_ + limit_ - 1) / limit_;
}

void TokenBucket::take(int64_t now_ms) {
  if (unlimited()) return;
  refill(now_ms);
  credit_ = std::max<int64_t>(0, credit_ - period_ms_);
}

DestinationRates::DestinationRates(std::vector<RateRule> rules) {
  for (auto& r : rules) {
    State s;
    s.rule = std::move(r);
    rules_.push_back(std::move(s));
  }
}

int DestinationRates::rule_for(const std::vector<std::string_view>& names) const {
  for (size_t i = 0; i < rules_.size(); ++i)
    for (std::string_view n : names)
      if (!n.empty() && rate_pattern_matches(rules_[i].rule.pattern, n)) return static_cast<int>(i);
  return -1;
}

DestinationRates::State& DestinationRates::state(int rule, unsigned divisor) {
  State& s = rules_[static_cast<size_t>(rule)];
  divisor = std::max(1u, divisor);
  if (s.divisor != divisor) {  // first use (the divisor of a rule does not change at run time)
    s.divisor = divisor;
    s.minute = TokenBucket(scaled(s.rule.messages_per_minute, divisor), kMinute);
    s.hour = TokenBucket(scaled(s.rule.messages_per_hour, divisor), kHour);
    s.connections = TokenBucket(scaled(s.rule.connections_per_minute, divisor), kMinute);
  }
  return s;
}

int64_t DestinationRates::take_message(int rule, int64_t now_ms, unsigned divisor) {
  if (rule < 0 || static_cast<size_t>(rule) >= rules_.size()) return 0;
  State& s = state(rule, divisor);
  const int64_t wait = std::max(s.minute.wait_ms(now_ms), s.hour.wait_ms(now_ms));
  if (wait > 0) {
    ++s.limited;
    return wait;
  }
  s.minute.take(now_ms);
  s.hour.take(now_ms);
  ++s.messages;
  return 0;
}

int64_t DestinationRates::take_connection(int rule, int64_t now_ms, unsigned divisor) {
  if (rule < 0 || static_cast<size_t>(rule) >= rules_.size()) return 0;
  State& s = state(rule, divisor);
  if (const int64_t wait = s.connections.wait_ms(now_ms); wait > 0) {
    ++s.limited;
    return wait;
  }
  s.connections.take(now_ms);
  ++s.connection_count;
  return 0;
}

std::vector<DestinationRates::Live> DestinationRates::live(int64_t now_ms) {
  std::vector<Live> out;
  for (State& s : rules_) {
    Live l;
    l.pattern = s.rule.pattern;
    l.messages_per_minute = s.rule.messages_per_minute;
    l.messages_per_hour = s.rule.messages_per_hour;
    l.connections_per_minute = s.rule.connections_per_minute;
    l.messages = s.messages;
    l.connections = s.connection_count;
    l.limited = s.limited;
    if (s.divisor) l.wait_ms = std::max(s.minute.wait_ms(now_ms), s.hour.wait_ms(now_ms));
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace ringmta::relay
