// relay/tls_policy.h — which outbound TLS policy decides for each MX host of
// a recipient domain: DANE (RFC 7672), MTA-STS (RFC 8461), the static
// delivery.tls / [delivery.tls_policy] level, or plain opportunistic TLS.
//
// One TlsPolicy per delivery agent (shard thread). decide() runs the lookups
// in parallel without blocking the shard — the "_mta-sts" TXT record and the
// policy host's addresses through the shard's resolver, the policy through
// the MtaStsFetcher worker, and "_25._tcp.HOST" TLSA records through a
// resolver whose AD bit is trusted (delivery.dnssec_resolver, else the [dns]
// servers) — then hands back one HostPolicy per host:
//
//   DANE     an AD-validated TLSA RRset with usable DANE-TA(2)/DANE-EE(3)
//            records: TLS verified by OpenSSL against them, or no delivery
//            to this host. Validated but only unusable records (PKIX-TA/EE,
//            unknown parameters): TLS required, not authenticated (RFC 7672
//            §2.2). A failed TLSA lookup (SERVFAIL, timeout: perhaps bogus)
//            refuses the host. Answers without AD are ignored. DANE comes
//            before MTA-STS (RFC 8461 §2).
//   MTA-STS  enforce: an MX matching the policy gets "verify" (chain and
//            name against the system CAs + delivery.tls_ca_file), others are
//            refused (4.7.5). testing: mismatches are logged, the static
//            level applies. none: as if there were no policy.
//   static / opportunistic: the configured level ("may" counts as
//            opportunistic, any other as static).
//
// Decided when a slot opens its first connection (after the MX lookup); a
// connection kept open for more messages keeps the decision it was made
// under (bounded by delivery.connection_idle_timeout and
// max_messages_per_connection), as with the MX answer itself.
//
// Known limit: the MX RRset itself is looked up without DNSSEC, so DANE here
// protects against a forged or stripped TLS session, not against a forged
// MX answer (RFC 7672 §2.2.1 wants a validated MX too).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "dns/resolver.h"
#include "engine/reactor.h"
#include "relay/mta_sts_fetcher.h"
#include "tls/tls.h"

namespace ringmta::relay {

enum class PolicyKind : uint8_t { Opportunistic, Static, MtaSts, Dane };
const char* to_string(PolicyKind kind);  // "opportunistic", "static", "mta-sts", "dane"

struct HostPolicy {
  PolicyKind kind = PolicyKind::Opportunistic;
  std::optional<config::OutboundTls> level;  // overrides the destination's level
  std::vector<tls::DaneTlsa> tlsa;           // DANE: the usable records (empty: TLS only required)
  std::string refuse;                        // not empty: never deliver to this host; why (4.7.5)
  bool testing = false;                      // MTA-STS mode testing: log, deliver anyway
};

class TlsPolicy {
 public:
  using Id = uint64_t;
  using Done = std::function<void(std::map<std::string, HostPolicy>)>;  // by host name

  // `resolver` is the agent's (it outlives this). `fetcher` may be null
  // (delivery.mta_sts off).
  TlsPolicy(engine::Reactor& reactor, const config::Config& config, dns::Resolver* resolver,
            std::shared_ptr<MtaStsFetcher> fetcher);
  ~TlsPolicy();  // drops every pending decision without calling it
  TlsPolicy(const TlsPolicy&) = delete;
  TlsPolicy& operator=(const TlsPolicy&) = delete;

  // Whether decide() has anything to look up (delivery.mta_sts or delivery.dane).
  bool active() const;
  // For the MX `hosts` of `domain` whose static level is `level`. `done`
  // runs on the reactor thread, never inside this call, unless cancel()ed.
  Id decide(const std::string& domain, config::OutboundTls level, std::vector<std::string> hosts, Done done);
  void cancel(Id id);

 private:
  struct Job;
  void txt_answered(const std::shared_ptr<Job>& job, const dns::Resolver::QueryResult& r);
  void tlsa_answered(const std::shared_ptr<Job>& job, const std::string& host, const dns::Resolver::QueryResult& r);
  void step_done(const std::shared_ptr<Job>& job);

  engine::Reactor& reactor_;
  const config::Config::Delivery& delivery_;
  dns::Resolver* resolver_;
  std::unique_ptr<dns::Resolver> dnssec_;  // delivery.dnssec_resolver, or null (then resolver_)
  std::shared_ptr<MtaStsFetcher> fetcher_;
  std::unordered_map<Id, std::shared_ptr<Job>> jobs_;
  Id next_ = 1;
};

}  // namespace ringmta::relay
