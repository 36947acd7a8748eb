// relay/shard.h — what one shard thread owns for the relay: its reactor, its
// queue-ID generator, its live inbound sessions, and shared read-only settings.
//
// Everything here is touched only on the shard's own thread (shared nothing);
// the queue is the one object shared by all shards, and its commit() is the
// only call they make on it from the hot path.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "engine/reactor.h"
#include "proto/smtp/server_session.h"
#include "queue/queue.h"
#include "queue/queue_id.h"
#include "config/config.h"
#include "tls/tls.h"

namespace ringmta::auth {
class AuthService;
}
namespace ringmta::limits {
class ConnectionLimiter;
class InflightBudget;
class HandshakeBudget;
class DiskGuard;
}  // namespace ringmta::limits

namespace ringmta::mailbox {
class Service;
}
namespace ringmta::dkim {
class Signer;
class SigningPool;
}  // namespace ringmta::dkim

namespace ringmta::relay {

class LocalDirectory;
class InboundSession;
class Scheduler;
class DeliveryAgent;
class Loader;

// Counters kept per shard without atomics; read by the daemon only after the
// shard stopped (later: merged at scrape time for /metrics).
struct ShardCounters {
  uint64_t connections = 0;
  uint64_t messages_accepted = 0;
  uint64_t commit_failures = 0;
  uint64_t recipients_delivered = 0;
  uint64_t recipients_deferred = 0;
  uint64_t recipients_bounced = 0;
  uint64_t notices_generated = 0;
  uint64_t local_deliveries = 0;  // recipients delivered into a mailbox (committed)
};

struct ShardContext {
  // id_floor_ms: the time of the newest queued ID at start-up (queue_id.h).
  ShardContext(engine::Reactor& r, queue::Queue& q, std::shared_ptr<const config::Config> c,
               std::shared_ptr<const smtp::ServerConfig> s, uint64_t id_floor_ms);
  ~ShardContext();  // both in shard.cpp, where Scheduler and DeliveryAgent are complete

  engine::Reactor& reactor;
  queue::Queue& queue;
  std::shared_ptr<const config::Config> config;
  std::shared_ptr<const smtp::ServerConfig> smtp;
  queue::QueueIdGenerator ids;
  ShardCounters counters;
  bool shutting_down = false;

  // Live sessions by session number; commit completions find their session
  // here, so a completion for a session that has gone away is simply dropped.
  uint64_t next_session = 1;
  std::unordered_map<uint64_t, InboundSession*> sessions;

  // Onward delivery. Created and destroyed on this shard's thread by the
  // daemon; null before start and after shutdown (posted work checks).
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<DeliveryAgent> agent;
  // Every shard's context, indexed by shard id; set before the shards start.
  const std::vector<ShardContext*>* peers = nullptr;
  Loader* loader = nullptr;  // thread-safe release(); may be null in tests
  // Shared by all shards (thread-safe); null when AUTH / limits are not in use.
  auth::AuthService* auth = nullptr;
  // [[dkim]] signing (relay/inbound_dkim.cpp): the keys and the workers that
  // sign, shared by all shards; both null without [[dkim]].
  std::shared_ptr<const dkim::Signer> dkim_signer;
  dkim::SigningPool* dkim_pool = nullptr;
  limits::ConnectionLimiter* limiter = nullptr;
  limits::InflightBudget* inflight = nullptr;  // limits.inflight_memory
  limits::HandshakeBudget* handshakes = nullptr;  // limits.tls_handshake_rate(_per_ip)
  // queue.min_free_space (thread-safe reads); null = no guard (tests).
  limits::DiskGuard* disk = nullptr;
  // Inbound TLS (STARTTLS, implicit TLS), shared by all shards: new_session()
  // is thread-safe and SIGHUP's reload() swaps certificates under it. Null =
  // no TLS (STARTTLS not offered, submissions connections refused).
  std::shared_ptr<tls::ServerContext> tls;
  // Local delivery (mailbox.enabled), shared by all shards (thread-safe);
  // both null = the local domains are relayed like any other.
  mailbox::Service* mailboxes = nullptr;
  LocalDirectory* directory = nullptr;
};

}  // namespace ringmta::relay
