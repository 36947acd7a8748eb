// relay/down_destinations.h — the delivery agent's memory of destinations
// that are down (delivery.destination_down_time), like Postfix's qmgr marking
// a destination "dead" ("delivery temporarily suspended: connect to ...").
//
// When every host of a destination failed at the connection level, the next
// message a moment later would only repeat that: a socket, a connect and a
// close each (or a whole connect_timeout when the host is blackholed). The
// agent notes the destination here with the last error and fails its jobs at
// once until the entry expires; then one job probes again.
//
// Keys are the agent's destination keys (route key, plus "|tls=LEVEL" when
// the level differs from delivery.tls). Expired entries are dropped when
// looked up and, so that destinations never seen again do not pile up, in a
// sweep whenever the map has doubled since the last one (amortised O(1) per
// mark, at most about twice the destinations marked within one down time).
//
// Pure bookkeeping: the caller passes the time, one instance per shard, no
// locks.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "proto/smtp/client_session.h"

namespace ringmta::relay {

class DownDestinations {
 public:
  using Clock = std::chrono::steady_clock;

  struct Entry {
    Clock::time_point until;
    smtp::RecipientResult error;  // the last connection-level error
    std::string host, addr;       // the host that gave it ("" = none reached)
  };

  // `hold`: delivery.destination_down_time; 0 = remember nothing.
  explicit DownDestinations(Clock::duration hold) : hold_(hold) {}

  bool enabled() const { return hold_.count() > 0; }

  // Remember `key` as down until now + hold (does nothing when disabled).
  void mark(const std::string& key, smtp::RecipientResult error, std::string host, std::string addr,
            Clock::time_point now);

  // The entry while `key` is down; null when it is not. An expired entry is
  // dropped here and *expired set: the caller's job is the probe.
  const Entry* find(const std::string& key, Clock::time_point now, bool* expired = nullptr);

  // The entry while `key` is down, without side effects: an expired entry is
  // left for find() (whose caller then probes). For the inbound side, which
  // only asks whether a fresh message can be deferred at once.
  const Entry* peek(const std::string& key, Clock::time_point now) const;

  // Forget `key` (a connection to it worked). True if it was remembered.
  bool forget(const std::string& key);

  // Forget every key `pred` holds for (all with a null pred); returns how many.
  size_t forget_if(const std::function<bool(const std::string&)>& pred);

  size_t size() const { return entries_.size(); }

  // What `ringmtactl destination list` and /metrics show: the entries still
  // down at `now`, sorted by key, with the time left (rounded up to a second).
  struct Live {
    std::string key;
    std::chrono::seconds left{0};
    std::string error;  // the remembered error's text
    std::string host, addr;
  };
  std::vector<Live> live(Clock::time_point now) const;
  // Every shard keeps its own memory (the relayhost is tracked by each shard
  // that sends there): one entry per key, the one with the most time left,
  // sorted by key.
  static std::vector<Live> merge(const std::vector<std::vector<Live>>& per_shard);

  // What the jobs of a down destination get: a temporary failure with the
  // remembered error's codes and "delivery temporarily suspended: <its text>".
  static smtp::RecipientResult suspended_result(const Entry& e);

 private:
  static constexpr size_t kMinSweep = 64;

  Clock::duration hold_;
  std::unordered_map<std::string, Entry> entries_;
  size_t sweep_at_ = kMinSweep;  // sweep expired entries when the map reaches this size
};

}  // namespace ringmta::relay
