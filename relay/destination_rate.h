// relay/destination_rate.h — per-destination rate limits ([delivery.rate]):
// messages per minute and per hour and new connections per minute for
// destinations matching a domain or host pattern ("gmail.com",
// "*.google.com"), as large mailbox providers ask of senders.
//
// Pure: no clock (every call takes now_ms), no I/O, no locks. One
// DestinationRates lives in each shard's delivery agent and is only touched
// by that shard, which owns the destinations it limits (routing.h), so a
// rule matching one domain is counted exactly; a rule matching domains owned
// by different shards, or the relayhost (which every shard serves), is
// counted per shard — for the relayhost the agent divides the limits by the
// shard count (at least 1).
//
// Each limit is a token bucket holding at most N tokens and refilled at N per
// period: a burst of N passes at once, then one every period/N. A message
// (one job) takes a token from both message buckets or from neither; when
// one is empty the caller gets how long to wait for the next token.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::relay {

struct RateRule {
  std::string pattern;  // lower case: "gmail.com" (that name) or "*.google.com" (names below google.com)
  unsigned messages_per_minute = 0;  // 0 = no such limit
  unsigned messages_per_hour = 0;
  unsigned connections_per_minute = 0;
};

// Whether `name` (any case) matches `pattern`. "*.x.y" matches names with
// at least one label before ".x.y", not "x.y" itself.
bool rate_pattern_matches(std::string_view pattern, std::string_view name);

class TokenBucket {
 public:
  TokenBucket() = default;
  // `limit` tokens per `period_ms`; limit 0 = unlimited.
  TokenBucket(unsigned limit, int64_t period_ms);
  bool unlimited() const { return limit_ == 0; }
  // Tokens available at now_ms (refilled up to the limit).
  double available(int64_t now_ms);
  // How long until a whole token is there (0 = now).
  int64_t wait_ms(int64_t now_ms);
  void take(int64_t now_ms);  // one token; only after wait_ms() == 0

 private:
  void refill(int64_t now_ms);
  // Integer credit, in units where one token is period_ms_ (elapsed ms times
  // the limit): exact, no rounding drift.
  unsigned limit_ = 0;
  int64_t period_ms_ = 1;
  int64_t credit_ = 0;
  int64_t last_ms_ = 0;
  bool started_ = false;
};

class DestinationRates {
 public:
  // `divisor` > 1 scales every limit down (at least 1), for the relayhost.
  explicit DestinationRates(std::vector<RateRule> rules = {});
  bool empty() const { return rules_.empty(); }
  // The first rule matching any of `names` (domain, route host, MX hosts), or -1.
  int rule_for(const std::vector<std::string_view>& names) const;
  // One message: 0 = go (its tokens are taken), else milliseconds to wait.
  int64_t take_message(int rule, int64_t now_ms, unsigned divisor = 1);
  // One new connection: 0 = go (token taken), else milliseconds to wait.
  int64_t take_connection(int rule, int64_t now_ms, unsigned divisor = 1);
  const RateRule& rule(int i) const { return rules_[static_cast<size_t>(i)].rule; }

  // For `ringmtactl destination list` and /metrics: each rule's state now.
  struct Live {
    std::string pattern;
    unsigned messages_per_minute = 0, messages_per_hour = 0, connections_per_minute = 0;
    uint64_t messages = 0, connections = 0;  // let through since start
    uint64_t limited = 0;                    // held back since start (messages and connections)
    int64_t wait_ms = 0;                     // until the next message may go (0 = now)
  };
  std::vector<Live> live(int64_t now_ms);

 private:
  struct State {
    RateRule rule;
    unsigned divisor = 0;  // the buckets are made on first use, scaled by it
    TokenBucket minute, hour, connections;
    uint64_t messages = 0, connection_count = 0, limited = 0;
  };
  State& state(int rule, unsigned divisor);
  std::vector<State> rules_;
};

}  // namespace ringmta::relay
