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
//
// This file: the agent's construction, job submission and queueing (split
// into transactions, destination keys, settle()), shutdown and the public
// calls. The connection side is in delivery_agent_connect.cpp, results and
// down destinations in delivery_agent_results.cpp; they share the Core of
// delivery_agent_state.h.
#include "relay/delivery_agent.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"
#include "relay/delivery_agent_state.h"
#include "relay/down_destinations.h"
#include "relay/outbound.h"
#include "relay/routing.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {
namespace delivery_detail {

namespace {

std::vector<RateRule> rate_rules(const config::Config::Delivery& d) {
  std::vector<RateRule> out;
  for (const auto& r : d.rates)
    out.push_back(RateRule{r.pattern, r.messages_per_minute, r.messages_per_hour, r.connections_per_minute});
  return out;
}

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Core::Core(engine::Reactor& r, std::shared_ptr<const config::Config> c, unsigned shards,
           std::shared_ptr<const OutboundTlsContexts> contexts, std::shared_ptr<const CredentialStore> logins)
    : reactor(r),
      config(std::move(c)),
      shard_count(std::max(1u, shards)),
      down(config->delivery.destination_down_time),
      tls(std::move(contexts)),
      credentials(std::move(logins)),
      rates(rate_rules(config->delivery)) {
  client.hostname = config->server.hostname.empty() ? "localhost" : config->server.hostname;
  client.own_hostname = config->server.hostname;  // a server greeting with it is us: a loop
  self = config::SelfAddresses::of(*config);  // host_addresses() was read at start, off this thread
  client.offer_starttls = false;  // per connection (Outbound::TlsSetup)
  client.use_chunking = config->delivery.chunking;
  if (!tls) {
    tls = OutboundTlsContexts::create(config->delivery, &tls_error, config->server.data_dir);
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
  tls_policy = std::make_unique<TlsPolicy>(reactor, *config, resolver.get(), tls ? tls->mta_sts : nullptr);
}

Core::~Core() {
  alive.reset();
  dests.clear();  // slots detach their connections and cancel timers and lookups
  resolver.reset();
}

void Core::submit(DeliveryJob job, Done done) {
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
  agg->split = parts.size() > 1;
  if (shutting_down) {
    for (auto& p : parts) fail(p, shutdown_result());
    return;
  }
  const std::string& domain = parts.front().job.domain;
  const std::string route = route_key(config->delivery, domain);
  const config::OutboundTls level = tls_level(config->delivery, domain);
  const std::string key = dest_key(route, level, domain);
  bool expired = false;
  if (const DownDestinations::Entry* e = down.find(key, std::chrono::steady_clock::now(), &expired)) {
    // Down: no connection attempt; fail() posts, so not inside submit().
    const RecipientResult r = DownDestinations::suspended_result(*e);
    for (auto& p : parts) fail(p, r, e->host, e->addr);
    return;
  }
  Destination* d = destination(key, route, domain, level);
  if (expired) d->probing = true;
  if (!rates.empty()) {
    d->rate_rule = rate_rule_for(d, domain);
    // The relayhost is served by every shard: each takes its share of the limit.
    const unsigned share = route_of(key) == "relayhost" ? shard_count : 1;
    if (const int64_t wait = rates.take_message(d->rate_rule, now_ms(), share)) {
      rate_limited(parts, d, wait);
      return settle(d);  // drops d again if it holds nothing
    }
  }
  for (auto& p : parts) d->waiting.push_back(std::move(p));
  settle(d);
}

int Core::rate_rule_for(const Destination* d, const std::string& domain) const {
  std::vector<std::string_view> names{domain};
  if (d->route) names.push_back(d->route->host);
  int rule = rates.rule_for(names);
  if (rule < 0 && !d->route)
    if (auto it = mx_rules.find(domain); it != mx_rules.end()) rule = it->second;
  return rule;
}

// Over the rate: the job goes back to its owner as deferred for `wait_ms`
// (rounded up to a second, so the queue's schedule has something to wait
// for); the scheduler keeps it queued without counting an attempt.
void Core::rate_limited(std::vector<Pending>& parts, const Destination* d, int64_t wait_ms) {
  const RateRule& rule = rates.rule(d->rate_rule);
  const int64_t seconds = (wait_ms + 999) / 1000;
  std::string limits;
  if (rule.messages_per_minute) limits += std::to_string(rule.messages_per_minute) + " messages per minute";
  if (rule.messages_per_hour)
    limits += (limits.empty() ? "" : ", ") + std::to_string(rule.messages_per_hour) + " messages per hour";
  const RecipientResult r = local_result(Outcome::TempFail, 451, "4.4.5",
                                         "rate limit for " + rule.pattern + " (" + limits + ") reached; waiting " +
                                             std::to_string(seconds) + "s in the queue");
  ++telemetry::local().delivery_rate_limited;
  spdlog::debug("delivery: {}: {}", d->key, r.text);
  for (auto& p : parts) {
    p.agg->result.rate_limited_ms = seconds * 1000;
    p.agg->result.rate_rule = rule.pattern;
    fail(p, r);
  }
}

// A TLS level other than delivery.tls (a [delivery.tls_policy] domain on a
// shared route or the relayhost) gets a destination of its own, so one
// connection never mixes levels.
std::string Core::dest_key(const std::string& route, config::OutboundTls level, const std::string& domain) const {
  std::string key = level == config->delivery.tls ? route : route + "|tls=" + std::string(to_string(level));
  // A domain with its own source address never shares a connection with others.
  if (!domain.empty() && config->delivery.source_addresses.count(domain)) key += "|src=" + domain;
  return key;
}

// The route key a destination key was made from (dest_key's inverse).
std::string_view Core::route_of(std::string_view key) { return key.substr(0, key.find('|')); }

// `map_key` is dest_key(key, level); `key` the route key.
Destination* Core::destination(const std::string& map_key, const std::string& key, const std::string& domain,
                               config::OutboundTls level) {
  auto& slot = dests[map_key];
  if (slot) return slot.get();
  slot = std::make_unique<Destination>();
  Destination* d = slot.get();
  d->key = map_key;
  d->tls = level;
  const config::Config::Delivery& del = config->delivery;
  auto src = del.source_addresses.find(domain);
  d->source = src != del.source_addresses.end() ? &src->second : &del.source_address;
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
void Core::settle(Destination* d) {
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
    // [delivery.rate] connections_per_minute: the jobs wait here until a
    // connection may open (a timer settles again then).
    if (d->rate_rule >= 0 && rates.rule(d->rate_rule).connections_per_minute) {
      if (d->rate_timer) break;  // already waiting for the next connection token
      const unsigned share = route_of(d->key) == "relayhost" ? shard_count : 1;
      if (const int64_t wait = rates.take_connection(d->rate_rule, now_ms(), share); wait > 0) {
        d->rate_timer = true;
        ++telemetry::local().delivery_rate_limited;
        reactor.add_timer(std::chrono::milliseconds(wait), [this, weak = std::weak_ptr<int>(alive), key = d->key] {
          if (!weak.lock()) return;
          auto it = dests.find(key);
          if (it == dests.end()) return;
          it->second->rate_timer = false;
          settle(it->second.get());
        });
        break;
      }
    }
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

void Core::remove_slot(Slot* s) {
  auto& v = s->dest->slots;
  v.erase(std::remove_if(v.begin(), v.end(), [s](const auto& p) { return p.get() == s; }), v.end());
}

void Core::start_transaction(Slot* s) {
  if (s->idle_timer) reactor.cancel_timer(s->idle_timer);
  s->idle_timer = 0;
  s->in_txn = true;
  static const std::string kEmpty;
  const std::string& body = s->job->job.body ? *s->job->job.body : kEmpty;
  s->ob->send_transaction(s->job->job.envelope, body);
}

void Core::shutdown() {
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

}  // namespace delivery_detail

struct DeliveryAgent::Impl : delivery_detail::Core {
  using Core::Core;
};

DeliveryAgent::DeliveryAgent(engine::Reactor& reactor, std::shared_ptr<const config::Config> config, unsigned shard_count,
                             std::shared_ptr<const OutboundTlsContexts> tls,
                             std::shared_ptr<const CredentialStore> credentials)
    : impl_(std::make_unique<Impl>(reactor, std::move(config), shard_count, std::move(tls), std::move(credentials))) {}
DeliveryAgent::~DeliveryAgent() = default;

void DeliveryAgent::submit(DeliveryJob job, Done done) { impl_->submit(std::move(job), std::move(done)); }
void DeliveryAgent::shutdown() { impl_->shutdown(); }

size_t DeliveryAgent::forget_down_destinations(const std::string& domain) { return impl_->forget_down(domain); }
size_t DeliveryAgent::down_destinations() const { return impl_->down.size(); }
std::optional<DownDestinations::Entry> DeliveryAgent::down_for(std::string_view address) const {
  if (impl_->down.size() == 0) return std::nullopt;  // the usual case
  const std::string domain = mail::recipient_domain(address);
  const config::Config::Delivery& delivery = impl_->config->delivery;
  const std::string key = impl_->dest_key(route_key(delivery, domain), tls_level(delivery, domain), domain);
  if (const DownDestinations::Entry* e = impl_->down.peek(key, std::chrono::steady_clock::now())) return *e;
  return std::nullopt;
}
std::vector<DownDestinations::Live> DeliveryAgent::down_list() const {
  return impl_->down.live(std::chrono::steady_clock::now());
}

std::vector<DestinationRates::Live> DeliveryAgent::rate_list() const {
  return impl_->rates.live(delivery_detail::now_ms());
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
