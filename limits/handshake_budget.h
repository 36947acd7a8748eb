// limits/handshake_budget.h — limits.tls_handshake_rate and
// tls_handshake_rate_per_ip: how many TLS handshakes may start, in total and
// per client, so that a flood of handshakes (each costs the shard about half
// a millisecond of key exchange and signing, bench/micro tls_bench) cannot
// take the CPU from the sessions already open.
//
// Two token buckets: one for all clients (refilled at `per_second`, holding
// one second's worth) and one per client_key() (an IPv4 address or an IPv6
// /64; refilled at `per_ip_per_minute`, holding one minute's worth). A
// handshake that finds either bucket empty is not started: STARTTLS gets 454
// 4.7.0 (the client may go on without TLS or try later), an implicit-TLS
// connection is closed. Clients in relay.trusted_networks skip the per-client
// bucket (like Postfix's anvil exceptions for $mynetworks), not the total.
// One mutex: taken once per handshake, which costs far more than the lock.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ringmta::limits {

class HandshakeBudget {
 public:
  using Clock = std::chrono::steady_clock;
  // 0 = no limit, for either.
  HandshakeBudget(unsigned per_second, unsigned per_ip_per_minute);

  enum class Verdict { Ok, TooManyInTotal, TooManyFromClient };
  // May a handshake for `client_ip` start now? Takes a token if so.
  Verdict admit(const std::string& client_ip, bool trusted, Clock::time_point now = Clock::now());

  size_t tracked_clients() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  static bool take(Bucket& b, double capacity, double per_second, Clock::time_point now);
  void sweep(Clock::time_point now);

  const unsigned per_second_;
  const unsigned per_ip_per_minute_;
  mutable std::mutex mu_;
  Bucket total_;
  std::unordered_map<std::string, Bucket> by_client_;
  Clock::time_point last_sweep_{};
};

}  // namespace ringmta::limits
