// relay/delivery_agent.cpp — see delivery_agent.h.
//
// Shape: Destination (route key) -> FIFO of waiting jobs + Slots. A Slot is
// one connection "lane" counted against the destination's cap: it resolves
// the targets, connects (moving to the next target after a connection-level
// failure), carries transactions, idles, and QUITs. Its current socket is an
// Outbound (outbound.h). Results reach the caller through Reactor::post, so
// `done` never runs inside submit() or inside our own bookkeeping.
//
// Down destinations (delivery.destination_down_time, down_destinations.h):
// when a slot runs out of targets with a temporary connection-level error
// and no other connection to the destination works, the destination is
// remembered as down; its jobs then fail at once (posted) until the time is
// up. The first job after that is the probe: it connects alone (settle()
// opens no second slot meanwhile) and its success ends the suspension.
#include "relay/delivery_agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <unordered_map>

#include "dns/resolver.h"
#include "relay/delivery_agent_state.h"
#include "relay/down_destinations.h"
#include "relay/metrics.h"
#include "relay/outbound.h"
#include "relay/routing.h"

namespace ringmta::relay {
namespace delivery_detail {
namespace {

using smtp::Outcome;
using smtp::RecipientResult;

RecipientResult local_result(Outcome outcome, int code, std::string enhanced, std::string text) {
  RecipientResult r;
  r.outcome = outcome;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  r.local = true;
  return r;
}

RecipientResult shutdown_result() {
  return local_result(Outcome::TempFail, 421, "4.3.2", "delivery stopped: shutting down");
}

// dns::ResultKind -> what the recipients get (resolver.h, RFC 7505 §3.2 for 556).
RecipientResult dns_result(const dns::Result& r, const std::string& name) {
  std::string text = r.error.empty() ? std::string(dns::to_string(r.kind)) + " for " + name : r.error;
  switch (r.kind) {
    case dns::ResultKind::kNxDomain: return local_result(Outcome::PermFail, 550, "5.1.2", std::move(text));
    case dns::ResultKind::kNullMx: return local_result(Outcome::PermFail, 556, "5.1.10", std::move(text));
    case dns::ResultKind::kNoAddress: return local_result(Outcome::PermFail, 550, "5.4.4", std::move(text));
    default: return local_result(Outcome::TempFail, 451, "4.4.3", std::move(text));
  }
}

// A reused connection that the remote had already dropped: the very first
// command of the transaction failed temporarily and the session is over.
bool died_before_start(const smtp::TransactionResult& tr) {
  if (tr.recipients.empty()) return false;
  for (const auto& r : tr.recipients)
    if (r.outcome != Outcome::TempFail || (r.stage != smtp::Stage::Rset && r.stage != smtp::Stage::Mail)) return false;
  return true;
}

}  // namespace

// Everything the agent owns (DeliveryAgent::Impl is this; named here so Slot can see it).
struct Core {
  using Done = DeliveryAgent::Done;
  engine::Reactor& reactor;
  std::shared_ptr<const Config> config;
  unsigned shard_count;
  smtp::ClientConfig client;
  Outbound::Timeouts timeouts;
  std::unique_ptr<dns::Resolver> resolver;  // declared before dests: slots cancel their lookups
  std::unordered_map<std::string, std::unique_ptr<Destination>> dests;
  DownDestinations down;  // by destination key (dest_key)
  bool shutting_down = false;
  std::shared_ptr<int> alive = std::make_shared<int>(0);  // posted results check it
  std::shared_ptr<const OutboundTlsContexts> tls;  // null: TLS unavailable (tls_error says why)
  std::string tls_error;

  Core(engine::Reactor& r, std::shared_ptr<const Config> c, unsigned shards,
       std::shared_ptr<const OutboundTlsContexts> contexts)
      : reactor(r),
        config(std::move(c)),
        shard_count(std::max(1u, shards)),
        down(config->delivery.destination_down_time),
        tls(std::move(contexts)) {
    client.hostname = config->server.hostname.empty() ? "localhost" : config->server.hostname;
    client.offer_starttls = false;  // per connection (Outbound::TlsSetup)
    if (!tls) {
      tls = OutboundTlsContexts::create(config->delivery, &tls_error);
      if (!tls) spdlog::error("delivery: TLS unavailable: {}", tls_error);
    }
    timeouts.connect = config->delivery.connect_timeout;
    timeouts.command = config->delivery.command_timeout;
    timeouts.data = config->delivery.data_timeout;
    dns::ResolverOptions opts;
    opts.servers = config->dns.servers;
    opts.timeout = config->dns.timeout;
    resolver = std::make_unique<dns::Resolver>(reactor, std::move(opts));
    if (!resolver->ok()) spdlog::warn("delivery: resolver not available: {}", resolver->init_error());
  }

  ~Core() {
    alive.reset();
    dests.clear();  // slots detach their connections and cancel timers and lookups
    resolver.reset();
  }

  // ---- results ----

  void complete(Pending& p, const std::vector<RecipientResult>& results, const Outbound* ob, bool remote_dsn) {
    JobResult& res = p.agg->result;
    size_t n = p.job.envelope.recipients.size();
    for (size_t i = 0; i < n; ++i)
      res.results[p.offset + i] =
          i < results.size() ? results[i]
                             : local_result(Outcome::TempFail, 451, "4.3.0", "internal error: no result for recipient");
    if (ob) {
      res.remote_host = ob->host();
      res.remote_addr = ob->address_text();
      res.remote_dsn = remote_dsn;
      res.tls = ob->tls_description();
    }
    if (--p.agg->remaining == 0) post_done(p.agg);
  }

  void fail(Pending& p, const RecipientResult& r, const std::string& host = {}, const std::string& addr = {}) {
    if (!host.empty()) {
      p.agg->result.remote_host = host;
      p.agg->result.remote_addr = addr;
    }
    complete(p, std::vector<RecipientResult>(p.job.envelope.recipients.size(), r), nullptr, false);
  }

  // Never call `done` from inside our own state changes (or submit()).
  void post_done(std::shared_ptr<Aggregate> agg) {
    reactor.post([weak = std::weak_ptr<int>(alive), agg = std::move(agg)] {
      if (weak.lock()) agg->done(std::move(agg->result));
    });
  }

  void fail_waiting(Destination* d, const RecipientResult& r, const std::string& host = {},
                    const std::string& addr = {}) {
    std::deque<Pending> waiting = std::move(d->waiting);
    d->waiting.clear();
    for (auto& p : waiting) fail(p, r, host, addr);
  }

  // ---- jobs ----

  void submit(DeliveryJob job, Done done) {
    auto agg = std::make_shared<Aggregate>();
    agg->result.id = job.id;
    agg->result.activation = job.activation;
    agg->result.indices = job.indices;
    const size_t n = job.envelope.recipients.size();
    agg->result.results.resize(n);
    agg->done = std::move(done);
    if (n == 0) return post_done(std::move(agg));

    const size_t per_txn = std::max<size_t>(1, config->delivery.max_recipients_per_transaction);
    std::vector<Pending> parts;
    if (n <= per_txn) {
      parts.push_back(Pending{std::move(job), agg, 0, false});
    } else {
      for (size_t off = 0; off < n; off += per_txn) {
        Pending p{DeliveryJob{}, agg, off, false};
        p.job.id = job.id;
        p.job.domain = job.domain;
        p.job.body = job.body;
        p.job.envelope = job.envelope;
        p.job.envelope.recipients.assign(job.envelope.recipients.begin() + off,
                                         job.envelope.recipients.begin() + std::min(n, off + per_txn));
        parts.push_back(std::move(p));
      }
    }
    agg->remaining = parts.size();
    if (shutting_down) {
      for (auto& p : parts) fail(p, shutdown_result());
      return;
    }
    const std::string& domain = parts.front().job.domain;
    const std::string route = route_key(config->delivery, domain);
    const OutboundTls level = tls_level(config->delivery, domain);
    const std::string key = dest_key(route, level);
    bool expired = false;
    if (const DownDestinations::Entry* e = down.find(key, std::chrono::steady_clock::now(), &expired)) {
      // Down: no connection attempt; fail() posts, so not inside submit().
      const RecipientResult r = DownDestinations::suspended_result(*e);
      for (auto& p : parts) fail(p, r, e->host, e->addr);
      return;
    }
    Destination* d = destination(key, route, domain, level);
    if (expired) d->probing = true;
    for (auto& p : parts) d->waiting.push_back(std::move(p));
    settle(d);
  }

  // A TLS level other than delivery.tls (a [delivery.tls_policy] domain on a
  // shared route or the relayhost) gets a destination of its own, so one
  // connection never mixes levels.
  std::string dest_key(const std::string& route, OutboundTls level) const {
    return level == config->delivery.tls ? route : route + "|tls=" + std::string(to_string(level));
  }
  // The route key a destination key was made from (dest_key's inverse).
  static std::string_view route_of(std::string_view key) { return key.substr(0, key.find("|tls=")); }

  // `map_key` is dest_key(key, level); `key` the route key.
  Destination* destination(const std::string& map_key, const std::string& key, const std::string& domain,
                           OutboundTls level) {
    auto& slot = dests[map_key];
    if (slot) return slot.get();
    slot = std::make_unique<Destination>();
    Destination* d = slot.get();
    d->key = map_key;
    d->tls = level;
    const Config::Delivery& del = config->delivery;
    unsigned cap = std::max(1u, del.max_connections_per_domain);
    if (key == "relayhost" && del.relayhost) {
      d->route = del.relayhost;
      cap = std::max(1u, cap / shard_count);  // every shard serves the relayhost itself
    } else if (auto it = del.routes.find(domain); key.rfind("route:", 0) == 0 && it != del.routes.end()) {
      d->route = it->second;
    } else {
      d->domain = key.rfind("mx:", 0) == 0 ? key.substr(3) : domain;
    }
    d->cap = cap;
    return d;
  }

  // Hand waiting jobs to idle connections, open new ones under the cap, and
  // drop the destination once it holds nothing. Only called from top-level
  // events (submit, DNS answer, connection closed, shutdown): `d` may be gone after.
  void settle(Destination* d) {
    if (shutting_down) fail_waiting(d, shutdown_result());  // e.g. a retry queued by a transaction's end
    while (!shutting_down && !d->waiting.empty()) {
      // A job retried after a dead reused connection gets a fresh one.
      Slot* idle = nullptr;
      if (!d->waiting.front().retried)
        for (auto& s : d->slots)
          if (s->ob && s->ob->ready() && !s->job && !s->quitting) {
            idle = s.get();
            break;
          }
      if (idle) {
        idle->job = std::move(d->waiting.front());
        d->waiting.pop_front();
        start_transaction(idle);
        continue;
      }
      if (d->slots.size() >= d->cap) break;
      // The probe after a down time connects alone: the other jobs wait for
      // its outcome instead of each trying a host that may still be dead.
      if (d->probing && !d->slots.empty()) break;
      d->slots.push_back(std::make_unique<Slot>(this, d));
      Slot* s = d->slots.back().get();
      s->job = std::move(d->waiting.front());
      d->waiting.pop_front();
      resolve(s);
    }
    if (d->waiting.empty() && d->slots.empty()) dests.erase(d->key);
  }

  void remove_slot(Slot* s) {
    auto& v = s->dest->slots;
    v.erase(std::remove_if(v.begin(), v.end(), [s](const auto& p) { return p.get() == s; }), v.end());
  }

  void start_transaction(Slot* s) {
    if (s->idle_timer) reactor.cancel_timer(s->idle_timer);
    s->idle_timer = 0;
    s->in_txn = true;
    static const std::string kEmpty;
    const std::string& body = s->job->job.body ? *s->job->job.body : kEmpty;
    s->ob->send_transaction(s->job->job.envelope, body);
  }

  // ---- targets ----

  void resolve(Slot* s) {
    Destination* d = s->dest;
    s->resolving = true;
    uint16_t port = config->delivery.port;
    if (d->route && d->route->port) port = d->route->port;
    std::string name = d->domain;
    auto cb = [this, s, port, started = std::chrono::steady_clock::now()](const dns::Result& r) {
      metrics::local().dns_lookup_done(r.kind, started);
      s->resolving = false;
      s->dns_request = 0;
      resolved(s, r, port);
    };
    if (d->route) {
      name = d->route->host;
      s->dns_request = d->route->mx_lookup ? resolver->resolve_mx(name, cb) : resolver->resolve_host(name, cb);
    } else {
      s->dns_request = resolver->resolve_mx(name, cb);
    }
  }

  void resolved(Slot* s, const dns::Result& r, uint16_t port) {
    Destination* d = s->dest;
    if (r.kind == dns::ResultKind::kOk) {
      for (const auto& h : r.hosts)
        for (const auto& a : h.addresses)
          if (auto addr = engine::SocketAddress::from_ip(a.ip(), port)) s->targets.push_back({h.name, *addr});
    }
    if (r.kind != dns::ResultKind::kOk || s->targets.empty()) {
      std::string name = d->route ? d->route->host : d->domain;
      RecipientResult res = dns_result(r, name);
      if (r.kind == dns::ResultKind::kOk) res = local_result(Outcome::TempFail, 451, "4.4.3", "no usable address for " + name);
      spdlog::debug("delivery: {}: {}", d->key, res.text);
      fail(*s->job, res);
      s->job.reset();
      // Waiting jobs would get the same answer; unless live connections can take them.
      if (!d->has_established()) fail_waiting(d, res);
      remove_slot(s);
      return settle(d);
    }
    connect_next(s);
  }

  // Try the slot's next target; when none is left the job fails with the last error.
  void connect_next(Slot* s) {
    Destination* d = s->dest;
    if (shutting_down || s->next_target >= s->targets.size()) {
      RecipientResult res = shutting_down || !s->last_error ? shutdown_result() : *s->last_error;
      fail(*s->job, res, s->last_host, s->last_addr);
      s->job.reset();
      // The destination looks down: later jobs would only repeat every
      // timeout; they fail now too unless another connection is working,
      // and so do the next ones for destination_down_time (a temporary error
      // from a host we tried; a 5xx greeting or a local TLS problem is not
      // the destination being down).
      if (!shutting_down && !d->has_established()) {
        if (res.outcome == Outcome::TempFail && !s->last_addr.empty()) mark_down(d, res, s->last_host, s->last_addr);
        fail_waiting(d, res, s->last_host, s->last_addr);
      }
      remove_slot(s);
      return settle(d);
    }
    const Target& t = s->targets[s->next_target++];
    open(s, t, d->tls);
  }

  void mark_down(Destination* d, const RecipientResult& res, const std::string& host, const std::string& addr) {
    d->probing = false;
    if (!down.enabled()) return;
    down.mark(d->key, res, host, addr, std::chrono::steady_clock::now());
    spdlog::info("delivery: {} is down, its mail is deferred for {}s without a connection attempt: {}", d->key,
                 config->delivery.destination_down_time.count(), res.text);
  }

  // ringmtactl queue flush / destination resume: the next job connects.
  size_t forget_down(const std::string& domain) {
    if (down.size() == 0) return 0;
    size_t n = 0;
    if (domain.empty()) {
      n = down.forget_if(nullptr);
    } else {
      const std::string route = route_key(config->delivery, domain);
      n = down.forget_if([&](const std::string& key) { return route_of(key) == route; });
    }
    if (n) spdlog::info("delivery: {} down destination(s) forgotten by the administrator", n);
    return n;
  }

  void open(Slot* s, const Target& t, OutboundTls level) {
    Outbound::TlsSetup setup;
    setup.level = level;
    if (level != OutboundTls::None && tls) setup.context = level == OutboundTls::Verify ? tls->verified : tls->unverified;
    if (!setup.context) {
      if (tls_required(level)) {
        // No TLS at all (bad CA file): every host would fail the same way.
        s->last_error = local_result(Outcome::TempFail, 451, "4.7.5", "TLS is required but not available: " + tls_error);
        s->next_target = s->targets.size();
        return connect_next(s);
      }
      setup.level = OutboundTls::None;
    }
    s->ob = std::make_shared<Outbound>(reactor, s, client, timeouts, t.host, t.address, std::move(setup));
    s->ob->start();
  }

  // ---- connection events ----

  void on_ready(Slot* s) {
    Destination* d = s->dest;
    if (s->job && !s->in_txn) {  // the connection opened for this job
      start_transaction(s);
      // It works: no longer down. After a probe, open the lanes the other jobs wait for.
      down.forget(d->key);
      if (d->probing) {
        d->probing = false;
        settle(d);
      }
      return;
    }
    if (shutting_down || s->messages >= config->delivery.max_messages_per_connection) {
      s->quitting = true;
      return s->ob->quit();
    }
    if (!d->waiting.empty()) {
      s->job = std::move(d->waiting.front());
      d->waiting.pop_front();
      return start_transaction(s);
    }
    auto idle = config->delivery.connection_idle_timeout;
    if (idle.count() <= 0) {
      s->quitting = true;
      return s->ob->quit();
    }
    s->idle_timer = reactor.add_timer(idle, [s] {
      s->idle_timer = 0;
      s->quitting = true;
      s->ob->quit();
    });
  }

  void on_result(Slot* s, smtp::TransactionResult tr) {
    s->in_txn = false;
    if (!s->job) return;
    Pending p = std::move(*s->job);
    s->job.reset();
    ++s->messages;
    if (!shutting_down && s->messages > 1 && !p.retried && s->ob->closed() && died_before_start(tr)) {
      spdlog::debug("delivery: reused connection to {} was dead; retrying {}", s->ob->address_text(), p.job.id);
      p.retried = true;
      s->dest->waiting.push_front(std::move(p));  // settle() runs when this connection is gone
      return;
    }
    complete(p, tr.recipients, s->ob.get(), tr.remote_dsn);
  }

  void on_closed(Slot* s) {
    Destination* d = s->dest;
    std::shared_ptr<Outbound> ob = std::move(s->ob);
    if (s->idle_timer) reactor.cancel_timer(s->idle_timer);
    s->idle_timer = 0;
    if (s->job && !ob->established()) {  // connection-level failure: next target
      s->last_error = ob->failure();
      s->last_host = ob->host();
      s->last_addr = ob->address_text();
      if (ob->tls_fallback() && !shutting_down && s->next_target > 0) {
        // "may": TLS broke during the handshake; this address once more in plaintext.
        spdlog::info("delivery: TLS handshake with {} ({}) failed; connecting again without TLS", ob->host(),
                     ob->address_text());
        return open(s, s->targets[s->next_target - 1], OutboundTls::None);
      }
      return connect_next(s);
    }
    if (s->job)  // cannot happen (results come before the close); never lose a job
      fail(*s->job, local_result(Outcome::TempFail, 421, "4.4.2", "lost connection with " + ob->host()),
           ob->host(), ob->address_text());
    remove_slot(s);
    settle(d);
  }

  void shutdown() {
    if (shutting_down) return;
    shutting_down = true;
    const RecipientResult r = shutdown_result();
    std::vector<std::string> keys;
    for (auto& [key, d] : dests) {
      keys.push_back(key);
      fail_waiting(d.get(), r);
      std::vector<Slot*> drop;
      for (auto& s : d->slots) {
        if (s->in_txn) continue;  // running transactions may finish
        if (s->job) {             // resolving or connecting for a job: stop that
          fail(*s->job, r);
          s->job.reset();
          drop.push_back(s.get());
        } else if (s->ob && s->ob->ready() && !s->quitting) {
          if (s->idle_timer) reactor.cancel_timer(s->idle_timer);
          s->idle_timer = 0;
          s->quitting = true;
          s->ob->quit();
        }
      }
      for (Slot* s : drop) remove_slot(s);
    }
    for (const auto& key : keys)
      if (auto it = dests.find(key); it != dests.end()) settle(it->second.get());
  }
};

Slot::~Slot() {
  if (ob) ob->detach();
  if (idle_timer) impl->reactor.cancel_timer(idle_timer);
  if (resolving && impl->resolver) impl->resolver->cancel(dns_request);
}
void Slot::outbound_ready(Outbound&) { impl->on_ready(this); }
void Slot::outbound_result(Outbound&, smtp::TransactionResult tr) { impl->on_result(this, std::move(tr)); }
void Slot::outbound_closed(Outbound&) { impl->on_closed(this); }

}  // namespace delivery_detail

struct DeliveryAgent::Impl : delivery_detail::Core {
  using Core::Core;
};

DeliveryAgent::DeliveryAgent(engine::Reactor& reactor, std::shared_ptr<const Config> config, unsigned shard_count,
                             std::shared_ptr<const OutboundTlsContexts> tls)
    : impl_(std::make_unique<Impl>(reactor, std::move(config), shard_count, std::move(tls))) {}
DeliveryAgent::~DeliveryAgent() = default;

void DeliveryAgent::submit(DeliveryJob job, Done done) { impl_->submit(std::move(job), std::move(done)); }
void DeliveryAgent::shutdown() { impl_->shutdown(); }

size_t DeliveryAgent::forget_down_destinations(const std::string& domain) { return impl_->forget_down(domain); }
size_t DeliveryAgent::down_destinations() const { return impl_->down.size(); }
std::vector<DownDestinations::Live> DeliveryAgent::down_list() const {
  return impl_->down.live(std::chrono::steady_clock::now());
}

size_t DeliveryAgent::queued_jobs() const {
  size_t n = 0;
  for (const auto& [key, d] : impl_->dests) n += d->waiting.size();
  return n;
}

size_t DeliveryAgent::open_connections() const {
  size_t n = 0;
  for (const auto& [key, d] : impl_->dests)
    for (const auto& s : d->slots) n += s->ob ? 1 : 0;
  return n;
}

}  // namespace ringmta::relay
