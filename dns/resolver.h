// dns/resolver.h — non-blocking MX / address resolution for one shard.
//
// One Resolver per shard thread, driven by that shard's engine::Reactor:
// c-ares sockets are watched with Reactor::poll_fd, c-ares timeouts run on a
// Reactor timer, and every user callback runs on the shard thread. Nothing
// here blocks (no getaddrinfo, no blocking c-ares calls) once constructed.
//
// resolve_mx() implements RFC 5321 §5.1 for onward delivery: MX records sorted
// by preference with equal preferences shuffled, each MX host's A and AAAA
// addresses, the implicit MX (no MX records → the domain itself, preference 0),
// RFC 7505 null MX, and a clear split between permanent answers (NXDOMAIN,
// null MX, no address at all) and temporary ones (SERVFAIL, REFUSED, timeout,
// network errors, MX hosts without addresses) which must only ever defer.
//
// Answers are kept in a per-shard LRU cache honouring the record TTLs, and
// concurrent lookups of the same name share one DNS query.
//
// Use (on the shard thread):
//   dns::Resolver resolver(reactor, {.servers = {"127.0.0.1:53"}});
//   resolver.resolve_mx("example.com", [](const dns::Result& r) {
//     switch (r.kind) {
//       case dns::ResultKind::kOk:        /* try r.hosts in order, port 25 */ break;
//       case dns::ResultKind::kTempFail:  /* defer: 4.4.3, r.error */ break;
//       default:                          /* bounce: 5.1.2 / 5.1.10 / 5.4.4 */ break;
//     }
//   });
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/address.h"
#include "engine/reactor.h"

namespace ringmta::dns {

namespace detail {
struct Impl;
}

// What became of a lookup. Callers map these to delivery outcomes:
enum class ResultKind : uint8_t {
  kOk,         // hosts holds at least one host with at least one address
  kNxDomain,   // the domain does not exist (permanent: 5.1.2)
  kNullMx,     // RFC 7505 null MX "0 ." (permanent: 5.1.10)
  kNoAddress,  // the name exists but has neither MX (resolve_mx) nor A/AAAA
               // records (permanent, 5.4.4 "unable to route"). Never used for
               // an MX host without address: that is kTempFail.
  kTempFail,   // SERVFAIL, REFUSED, timeout, network error, malformed answer,
               // every MX host without address, resolver not set up: defer,
               // never bounce
};

const char* to_string(ResultKind kind);

// One delivery target: an MX host (or the implicit-MX domain, or resolve_host's name).
struct MxHost {
  std::string name;        // lower case, no trailing dot
  uint16_t preference = 0;
  // Port 0: the caller sets the port. Ordered per ResolverOptions::address_order.
  std::vector<engine::SocketAddress> addresses;
};

struct Result {
  ResultKind kind = ResultKind::kTempFail;
  // kOk only: targets in the order to try them (preference order, equal
  // preferences shuffled). Hosts without addresses are already left out.
  std::vector<MxHost> hosts;
  // resolve_mx: there were no MX records; hosts = { the domain, preference 0 }.
  bool implicit = false;
  // The smallest TTL of the records this answer was built from (for negative
  // answers: the negative-caching time). How long the answer stays cached.
  std::chrono::seconds ttl{0};
  // Human-readable reason for failures, e.g. "MX host has no address:
  // mx1.example.com (NXDOMAIN)". On kOk it may note skipped MX hosts.
  std::string error;
};

// Which address families to look up and in which order they are handed out.
enum class AddressOrder : uint8_t {
  kIpv4First,  // default: A then AAAA (IPv4 is the more reliable path for mail)
  kIpv6First,
  kIpv4Only,   // AAAA is not queried at all
  kIpv6Only,   // A is not queried at all
};

struct ResolverOptions {
  // Name servers as "ip:port", "[ipv6]:port" or a bare IP (port 53).
  // Default: empty = what /etc/resolv.conf says (c-ares reads it itself).
  std::vector<std::string> servers;
  // Total time one DNS step may take, all tries and servers included; on
  // expiry the step fails with kTempFail. resolve_mx makes at most two
  // sequential steps (MX, then the hosts' A/AAAA in parallel).
  // Default: 10 s.
  std::chrono::milliseconds timeout{10000};
  // Attempts per server before giving up (c-ares "tries"). Default: 2.
  int tries = 2;
  // Default: kIpv4First.
  AddressOrder address_order = AddressOrder::kIpv4First;
  // Cache capacity in entries (MX answers and host answers each count one);
  // least recently used entries go first. 0 disables the cache. Default: 10000.
  size_t cache_entries = 10000;
  // Upper bound for positive TTLs. Default: 1 day.
  std::chrono::seconds max_ttl{86400};
  // Negative answers (NXDOMAIN, NODATA) are cached for the SOA negative TTL
  // (min of SOA TTL and SOA MINIMUM, RFC 2308) capped at this value, or for
  // this value when the answer carries no SOA. Default: 60 s.
  std::chrono::seconds negative_ttl{60};
  // Temporary failures are cached this long (0 = not cached). Default: 0.
  std::chrono::seconds tempfail_ttl{0};
  // At most this many MX hosts (after ordering) get their addresses looked up;
  // the rest are dropped. Default: 10.
  size_t max_mx_hosts = 10;
  // Random source for the equal-preference shuffle. Default (empty): a
  // std::mt19937_64 seeded from std::random_device. Tests inject a seeded one.
  std::function<uint64_t()> random;
  // Clock for cache expiry. Default (empty): engine::Clock::now. Tests inject
  // a fake one to expire entries without waiting. (Timeouts use real time.)
  std::function<engine::Clock::time_point()> now;
};

// Plain counters for later Prometheus export. Only the shard thread writes them.
struct ResolverStats {
  uint64_t mx_lookups = 0;      // resolve_mx() calls
  uint64_t host_lookups = 0;    // resolve_host() calls
  uint64_t cache_hits = 0;      // MX / host answers served from the cache
  uint64_t cache_misses = 0;    // ... that needed DNS queries
  uint64_t joined_inflight = 0; // ... that joined a query already in flight
  uint64_t cache_evictions = 0; // entries dropped for capacity
  uint64_t queries_sent = 0;    // DNS questions handed to c-ares
  uint64_t query_timeouts = 0;  // steps that hit ResolverOptions::timeout
  // Results handed to callers, by kind.
  uint64_t ok = 0;
  uint64_t nxdomain = 0;
  uint64_t null_mx = 0;
  uint64_t no_address = 0;
  uint64_t tempfail = 0;
};

class Resolver {
 public:
  using Callback = std::function<void(const Result&)>;
  using RequestId = uint64_t;

  // Call on the reactor's thread. Reads /etc/resolv.conf when no servers are
  // given (once, at construction: do it at shard start). Check ok().
  Resolver(engine::Reactor& reactor, ResolverOptions options = {});
  // Drops every outstanding request WITHOUT calling its callback (so owners
  // may go away together with the resolver); frees all c-ares state, polls and
  // timers. Must run on the reactor thread, before the Reactor is destroyed.
  // Safe from inside a callback of this resolver.
  ~Resolver();
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // False if c-ares could not be set up (bad server address, no memory...);
  // every lookup then fails with kTempFail carrying init_error().
  bool ok() const;
  const std::string& init_error() const;

  // Delivery targets for a mail domain (RFC 5321 §5.1, RFC 7505):
  //  - MX set: A and AAAA of each MX host (up to max_mx_hosts, in parallel);
  //    hosts without address are skipped, none left -> kTempFail.
  //  - NODATA for MX -> implicit MX (the domain's own A/AAAA, implicit=true);
  //    no A/AAAA either -> kNoAddress.
  //  - a lone "." exchange -> kNullMx (a "." among real MX hosts is ignored).
  //  - CNAMEs are followed inside the server's answer (recursive servers and
  //    dnsmasq send the chain plus the target's records); no extra query
  //    chases a dangling CNAME: it counts as NODATA.
  //  - "[192.0.2.1]" / "[IPv6:...]" address literals skip DNS (implicit=true).
  // The callback
  // runs exactly once on the reactor thread, never from inside this call
  // (cache hits are delivered on the next loop iteration), unless cancel()ed
  // or the Resolver is destroyed first.
  RequestId resolve_mx(std::string_view domain, Callback cb);
  // A/AAAA of one host (relayhost, routes): one MxHost with preference 0.
  // An IP literal ("192.0.2.1", "::1", "[192.0.2.1]") is answered without DNS.
  // A name without A/AAAA gives kNoAddress. Same callback rules as resolve_mx.
  RequestId resolve_host(std::string_view name, Callback cb);
  // One question answered raw (TLSA and TXT for DANE and MTA-STS; read with
  // dns/tlsa.h). `dnssec`: the query carries the AD bit and EDNS DO
  // (RFC 6840 §5.7) so a validating resolver says in the answer's AD bit
  // whether it validated the data. Not cached, not joined. `message` holds
  // the whole response (any rcode); empty with `error` for timeouts,
  // network errors and SERVFAIL/REFUSED from every server. Same callback
  // rules as resolve_mx (dns/resolver_query.cpp).
  struct QueryResult {
    std::vector<uint8_t> message;
    std::string error;
  };
  using QueryCallback = std::function<void(const QueryResult&)>;
  RequestId query(std::string_view name, uint16_t qtype, bool dnssec, QueryCallback cb);
  // The callback of `id` will not be called. The DNS work goes on (it fills
  // the cache and may be shared with other callers). Unknown ids are ignored.
  void cancel(RequestId id);

  const ResolverStats& stats() const;
  size_t cache_size() const;
  void clear_cache();

 private:
  std::unique_ptr<detail::Impl> impl_;  // c-ares stays out of this header
};

}  // namespace ringmta::dns
