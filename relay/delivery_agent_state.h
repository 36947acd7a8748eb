// relay/delivery_agent_state.h — the delivery agent's bookkeeping types
// (private to the delivery_agent*.cpp files, not part of the public API).
//
// Its own header because the agent is split over three files that all work
// on the one Core below: delivery_agent.cpp (construction, job submission and
// queueing, shutdown, the public calls), delivery_agent_connect.cpp (DNS
// targets, opening connections, the connection events) and
// delivery_agent_results.cpp (job results and down destinations).
//
// A Destination (one route key) holds the FIFO of waiting jobs and its Slots.
// A Slot is one connection lane counted against the destination's cap: it
// owns the current Outbound socket, the job it carries, and the target list
// it walks through after connection-level failures.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dns/resolver.h"
#include "relay/delivery_agent.h"
#include "relay/down_destinations.h"
#include "relay/outbound.h"
#include "relay/tls_policy.h"
#include "relay/credential_store.h"
#include "relay/destination_rate.h"
#include "config/self_addresses.h"

namespace ringmta::relay::delivery_detail {

// Own namespace: generic names like Slot or Pending must not collide (ODR)
// with other files of the relay library.

// One job's recipients may need several transactions
// (delivery.max_recipients_per_transaction); the JobResult collects them.
struct Aggregate {
  JobResult result;
  size_t remaining = 0;
  bool split = false;  // sent as several transactions: each part records its remote (JobResult::vias)
  DeliveryAgent::Done done;
};

struct Pending {
  DeliveryJob job;  // this part's recipients only
  std::shared_ptr<Aggregate> agg;
  size_t offset = 0;     // of this part's first recipient in agg->result
  bool retried = false;  // already retried after a dead reused connection
};

struct Target {
  std::string host;
  engine::SocketAddress address;
  HostPolicy policy;  // DANE / MTA-STS / static (tls_policy.h); set before the first connection
};

using smtp::Outcome;
using smtp::RecipientResult;

// delivery_agent_results.cpp: a result made here, not by a remote server.
RecipientResult local_result(Outcome outcome, int code, std::string enhanced, std::string text);
RecipientResult shutdown_result();
// A mail loop found here (a target that is one of our listeners) or by the
// session (a server naming itself with our host name): permanent 5.4.6, and
// no other target is tried.
RecipientResult loop_result(std::string text);
inline bool is_loop(const RecipientResult& r) {
  return r.local && r.outcome == Outcome::PermFail && r.enhanced == "5.4.6";
}

struct Destination;
struct Core;

struct Slot final : Outbound::Owner {
  Core* impl;
  Destination* dest;
  std::shared_ptr<Outbound> ob;  // null while resolving
  std::optional<Pending> job;    // the job this lane carries (or opened for)
  bool in_txn = false;
  bool quitting = false;
  bool resolving = false;
  dns::Resolver::RequestId dns_request = 0;
  TlsPolicy::Id policy_request = 0;  // a TlsPolicy::decide() in flight
  const char* tls_policy = nullptr;  // of the current connection: the delivery log's tls_policy=
  std::vector<Target> targets;
  size_t next_target = 0;
  std::optional<smtp::RecipientResult> last_error;  // of the last failed target
  std::string last_host, last_addr;
  unsigned messages = 0;
  engine::TimerId idle_timer = 0;
  // TLS session cache key of the connection (see Core::tickets); cleared
  // once the connection is ready and its session was taken.
  std::string tls_key;

  Slot(Core* i, Destination* d) : impl(i), dest(d) {}
  ~Slot() override;
  void outbound_ready(Outbound&) override;
  void outbound_result(Outbound&, smtp::TransactionResult tr) override;
  void outbound_closed(Outbound&) override;
};

struct Destination {
  std::string key;
  std::string domain;                // "mx:" destinations: the domain to look up
  std::optional<config::RouteTarget> route;  // relayhost / [delivery.routes] target
  config::OutboundTls tls = config::OutboundTls::May;  // delivery.tls / [delivery.tls_policy] of its domain(s)
  unsigned cap = 1;
  bool probing = false;              // first try after a down time: one connection until it works
  int rate_rule = -1;                // [delivery.rate] rule (DestinationRates), -1 = none
  bool rate_timer = false;           // a settle() is scheduled for when a connection may open
  const config::Config::Delivery::Source* source = nullptr;  // delivery.source_address(es); never null once made
  std::deque<Pending> waiting;
  std::vector<std::unique_ptr<Slot>> slots;

  bool has_established() const {
    return std::any_of(slots.begin(), slots.end(), [](const auto& s) { return s->ob && s->ob->established(); });
  }
};

// Everything the agent owns (DeliveryAgent::Impl is this; named here so Slot can see it).
struct Core {
  using Done = DeliveryAgent::Done;
  engine::Reactor& reactor;
  std::shared_ptr<const config::Config> config;
  unsigned shard_count;
  smtp::ClientConfig client;
  Outbound::Timeouts timeouts;
  config::SelfAddresses self;  // our own listeners: never a delivery target (self_addresses.h)
  std::unique_ptr<dns::Resolver> resolver;  // declared before dests: slots cancel their lookups
  std::unique_ptr<TlsPolicy> tls_policy;    // DANE / MTA-STS per MX host; uses resolver
  std::unordered_map<std::string, std::unique_ptr<Destination>> dests;
  DownDestinations down;  // by destination key (dest_key)
  bool shutting_down = false;
  std::shared_ptr<int> alive = std::make_shared<int>(0);  // posted results check it
  std::shared_ptr<const OutboundTlsContexts> tls;  // null: TLS unavailable (tls_error says why)
  std::string tls_error;
  // TLS sessions to resume (delivery.tls_resumption), by "level host ip:port":
  // the next connection to that host skips the full handshake (Postfix's
  // smtp_tls_session_cache_database). Per shard, so no lock; the level is in
  // the key so a session made without a certificate check is never reused
  // where "verify" is required. Bounded: emptied when it reaches kMaxTickets.
  static constexpr size_t kMaxTickets = 10000;
  std::unordered_map<std::string, tls::TicketPtr> tickets;
  // Issue 18: upstream logins (null: no delivery.credentials_file), the
  // [delivery.rate] buckets of the destinations this shard owns, and which
  // rule an MX-host pattern matched for a domain (learnt from its MX
  // answer; bounded, emptied when full like `tickets`).
  std::shared_ptr<const CredentialStore> credentials;
  DestinationRates rates;
  std::unordered_map<std::string, int> mx_rules;

  Core(engine::Reactor& r, std::shared_ptr<const config::Config> c, unsigned shards,
       std::shared_ptr<const OutboundTlsContexts> contexts, std::shared_ptr<const CredentialStore> logins);
  ~Core();

  // ---- delivery_agent_results.cpp: results, down destinations ----
  // `host`/`addr`: the remote a failure without a connection names (fail()).
  void complete(Pending& p, const std::vector<RecipientResult>& results, const Outbound* ob, bool remote_dsn,
                const std::string& host = {}, const std::string& addr = {});
  void fail(Pending& p, const RecipientResult& r, const std::string& host = {}, const std::string& addr = {});
  void post_done(std::shared_ptr<Aggregate> agg);
  void fail_waiting(Destination* d, const RecipientResult& r, const std::string& host = {},
                    const std::string& addr = {});
  void mark_down(Destination* d, const RecipientResult& res, const std::string& host, const std::string& addr);
  size_t forget_down(const std::string& domain);

  // ---- delivery_agent.cpp: jobs, shutdown ----
  void submit(DeliveryJob job, Done done);
  // `domain`: a [delivery.source_addresses] domain gets a destination of its own.
  std::string dest_key(const std::string& route, config::OutboundTls level, const std::string& domain = {}) const;
  // [delivery.rate]: the rule for d (carrying mail for `domain`), and whether a
  // job of it must wait (then its recipients are deferred for that long).
  int rate_rule_for(const Destination* d, const std::string& domain) const;
  void rate_limited(std::vector<Pending>& parts, const Destination* d, int64_t wait_ms);
  static std::string_view route_of(std::string_view key);
  Destination* destination(const std::string& map_key, const std::string& key, const std::string& domain,
                           config::OutboundTls level);
  void settle(Destination* d);
  void remove_slot(Slot* s);
  void start_transaction(Slot* s);
  void shutdown();

  // ---- delivery_agent_connect.cpp: targets, connection events ----
  void resolve(Slot* s);
  void resolved(Slot* s, const dns::Result& r, uint16_t port);
  void policies_decided(Slot* s, std::map<std::string, HostPolicy> policies);
  void connect_next(Slot* s);
  void open(Slot* s, const Target& t, config::OutboundTls level);
  void on_ready(Slot* s);
  void on_result(Slot* s, smtp::TransactionResult tr);
  void on_closed(Slot* s);
};

}  // namespace ringmta::relay::delivery_detail
