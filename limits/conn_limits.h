// limits/conn_limits.h — limits.max_connections and max_connections_per_ip.
//
// Connections are spread over the shards by SO_REUSEPORT, so one client's
// connections land on several shards: the counts are shared. acquire() runs
// once per accepted connection (not per byte), so one mutex is cheap enough
// and keeps the per-address map exact.
//
// "Per address" means per client_key() (limits/client_key.h): one IPv4
// address, or one IPv6 /64.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>

namespace ringmta::limits {

class ConnectionLimiter {
 public:
  enum class Verdict { Ok, TooMany, TooManyFromAddress };

  // 0 = no limit.
  ConnectionLimiter(unsigned max_total, unsigned max_per_address)
      : max_total_(max_total), max_per_address_(max_per_address) {}

  // Count a new connection from `address` (its client_key()) unless a limit is reached.
  Verdict acquire(const std::string& address);
  // The connection counted by a successful acquire() closed.
  void release(const std::string& address);

  unsigned total() const;

 private:
  const unsigned max_total_;
  const unsigned max_per_address_;
  mutable std::mutex mu_;
  unsigned total_ = 0;
  std::unordered_map<std::string, unsigned> by_address_;
};

}  // namespace ringmta::limits
