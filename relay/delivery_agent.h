// relay/delivery_agent.h — the destination side of onward delivery, one per
// shard: it takes DeliveryJobs for the destinations this shard owns, finds
// where their mail goes (relayhost, [delivery.routes], or the domain's MX hosts
// via dns::Resolver, RFC 5321 §5.1), and delivers them over SMTP with
// smtp::ClientSession on engine connections.
//
// Per destination (route key, see routing.h): at most
// delivery.max_connections_per_domain connections at once (for the relayhost,
// which every shard serves itself, that cap divided by the shard count, at
// least 1); jobs wait in a FIFO for a connection; a connection carries up to
// delivery.max_messages_per_connection transactions and stays idle for
// delivery.connection_idle_timeout before QUIT. A new connection tries the
// targets in order (MX preference, then each address) and moves on after a
// refused/failed connect, a connect timeout, a 4xx/5xx greeting or EHLO/HELO
// refusal; when all fail, every recipient of the job gets a temporary failure
// carrying the last error (permanent only if the last host answered 5xx).
// Per-stage timeouts: command_timeout for greeting/EHLO/MAIL/RCPT/RSET/QUIT,
// data_timeout for DATA/body/end of data. DNS: NXDOMAIN -> permanent 5.1.2,
// null MX -> permanent 5.1.10, no address -> permanent 5.4.4, temporary
// failures -> temporary 4.4.3 (never permanent).
//
// A destination whose targets all failed that way with a temporary error
// (and no other connection to it working) is remembered as down for
// delivery.destination_down_time (down_destinations.h): its jobs fail at once
// with "delivery temporarily suspended: <last error>", no connection tried.
// After that time one job probes alone; a working connection ends it, and so
// does forget_down_destinations() (ringmtactl queue flush). Permanent and
// DNS failures do not suspend a destination.
//
// TLS (delivery.tls, [delivery.tls_policy], outbound_tls.h): the level is
// chosen per recipient domain; a route or the relayhost carrying domains of
// different levels gets one destination (connection pool) per level. A
// required level that cannot be met on a host moves on to the next host like
// a connection failure (so all failing = temporary failure with the TLS
// reason, never plaintext); with "may" a failed handshake is retried once in
// plaintext on a new connection to the same address (as Postfix does).
//
// Upstream AUTH (delivery.credentials_file, credentials.h): a connection to a
// host with credentials logs in after STARTTLS (outbound.h); such a host's
// TLS level is raised to at least "encrypt", so a peer without STARTTLS is a
// TLS failure (next host, then deferral), never a plaintext login. A refused
// login is a temporary connection-level failure like a TLS one (so it may
// also mark the destination down for destination_down_time).
//
// Source address (delivery.source_address, [delivery.source_addresses]): the
// socket is bound to the IPv4 or IPv6 source before connecting, by the
// peer's family; a domain with its own source gets a destination of its own.
//
// Rates ([delivery.rate], destination_rate.h): a destination whose domain,
// route host or MX host (once its MX answer was seen) matches a rule takes a
// token per job; without one the job's recipients come back deferred with
// JobResult::rate_limited_ms set (the scheduler keeps the mail queued for
// that long, not counted as an attempt). connections_per_minute holds jobs
// in the destination's FIFO until a connection may open.
//
// Everything runs on the shard thread; nothing blocks.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/reactor.h"
#include "config/config.h"
#include "relay/delivery_job.h"
#include "relay/down_destinations.h"
#include "relay/outbound_tls.h"
#include "relay/credential_store.h"
#include "relay/destination_rate.h"

namespace ringmta::relay {

class DeliveryAgent {
 public:
  using Done = std::function<void(JobResult)>;

  // On the shard thread (creates the shard's dns::Resolver from config.dns).
  // `tls`: the shared client contexts (OutboundTlsContexts::create, done by
  // the daemon off the shard threads); null = build them here (tests).
  // `credentials`: delivery.credentials_file, loaded by the daemon (null = no
  // upstream logins).
  DeliveryAgent(engine::Reactor& reactor, std::shared_ptr<const config::Config> config, unsigned shard_count,
                std::shared_ptr<const OutboundTlsContexts> tls = nullptr,
                std::shared_ptr<const CredentialStore> credentials = nullptr);
  ~DeliveryAgent();  // on the shard thread; pending `done`s are not called
  DeliveryAgent(const DeliveryAgent&) = delete;
  DeliveryAgent& operator=(const DeliveryAgent&) = delete;

  // Deliver `job`; `done` runs exactly once on this shard's thread, never
  // from inside submit(). Every recipient of the job gets a result.
  void submit(DeliveryJob job, Done done);

  // Shutdown: start no new transactions; queued jobs finish at once with a
  // temporary failure ("4.3.2 delivery stopped: shutting down"); idle
  // connections QUIT; running transactions may finish (the daemon aborts
  // what is left after its timeout).
  void shutdown();

  // Down destinations (delivery.destination_down_time): forget them so their
  // next job connects again — all when `domain` is empty, else the one(s)
  // mail for `domain` goes through (its MX hosts, its route or the
  // relayhost). Returns how many were forgotten. For `ringmtactl queue flush`
  // and `destination resume`.
  size_t forget_down_destinations(const std::string& domain = {});
  size_t down_destinations() const;  // remembered now (an expired one counts until dropped)
  // The one question "is this destination down": whether mail for
  // `address` (a recipient address) would be failed at once as "delivery
  // temporarily suspended" by this agent now — its down entry, or nothing
  // (not down, expired — the next job probes —, or off). Costs nothing when
  // no destination is down.
  std::optional<DownDestinations::Entry> down_for(std::string_view address) const;
  // The destinations down now, for `ringmtactl destination list` and /metrics.
  std::vector<DownDestinations::Live> down_list() const;

  // [delivery.rate] rules and their state here, for `ringmtactl destination list`.
  std::vector<DestinationRates::Live> rate_list() const;

  size_t queued_jobs() const;        // waiting for a connection
  size_t open_connections() const;   // outbound connections (connecting, busy or idle)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmta::relay
