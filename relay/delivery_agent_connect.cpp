// relay/delivery_agent_connect.cpp — the delivery agent's connection side:
// a slot's targets from DNS (relayhost, route or MX hosts), opening an
// Outbound to each in turn with the destination's TLS level (and the one
// plaintext retry that "may" allows), and the connection events — ready,
// transaction result, closed — that hand out jobs, idle, QUIT or move on to
// the next target.
//
// Its own file because this is the per-connection state machine of a Slot;
// job queueing (delivery_agent.cpp) and results (delivery_agent_results.cpp)
// only meet it through settle(), fail() and mark_down().
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "dns/resolver.h"
#include "relay/delivery_agent_state.h"
#include "telemetry/metrics.h"
#include "relay/outbound.h"

namespace ringmta::relay::delivery_detail {
namespace {

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

void Core::resolve(Slot* s) {
  Destination* d = s->dest;
  s->resolving = true;
  uint16_t port = config->delivery.port;
  if (d->route && d->route->port) port = d->route->port;
  std::string name = d->domain;
  auto cb = [this, s, port, started = std::chrono::steady_clock::now()](const dns::Result& r) {
    telemetry::local().dns_lookup_done(r.kind, started);
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

void Core::resolved(Slot* s, const dns::Result& r, uint16_t port) {
  Destination* d = s->dest;
  const std::string name = d->route ? d->route->host : d->domain;
  std::optional<RecipientResult> loop;
  if (r.kind == dns::ResultKind::kOk && !d->route && !rates.empty() && d->rate_rule < 0) {
    // [delivery.rate] MX host patterns ("*.google.com"): from now on this
    // domain's jobs count against the rule its MX hosts match.
    std::vector<std::string_view> names;
    for (const auto& h : r.hosts) names.push_back(h.name);
    if (const int rule = rates.rule_for(names); rule >= 0) {
      if (mx_rules.size() >= 10000) mx_rules.clear();
      mx_rules[d->domain] = rule;
      d->rate_rule = rule;
    }
  }
  if (r.kind == dns::ResultKind::kOk) {
    for (const auto& h : r.hosts)
      for (const auto& a : h.addresses)
        if (auto addr = engine::SocketAddress::from_ip(a.ip(), port)) s->targets.push_back({h.name, *addr});
    // Never deliver to myself. The targets from the first one that is one
    // of our own listeners on are dropped: they are of the same or a lower
    // MX preference, and sending there would only queue the mail here again
    // (Postfix drops its own MX entries the same way). The better targets
    // before it are tried as usual (and defer when they fail); with none
    // left the mail loops back: permanent 5.4.6, one bounce, no retry.
    for (size_t i = 0; i < s->targets.size(); ++i) {
      if (const config::ListenerConfig* l = self.listener_for(s->targets[i].address)) {
        loop = loop_result("mail for " + name + " goes to " + s->targets[i].host + "[" +
                           s->targets[i].address.to_string() + "], which is my own listener " + l->address_text);
        s->targets.resize(i);
        break;
      }
    }
  }
  if (r.kind != dns::ResultKind::kOk || s->targets.empty()) {
    RecipientResult res = dns_result(r, name);
    if (r.kind == dns::ResultKind::kOk) res = local_result(Outcome::TempFail, 451, "4.4.3", "no usable address for " + name);
    if (loop) {
      res = *loop;
      spdlog::warn("delivery: {}: {}", d->key, res.text);
    }
    spdlog::debug("delivery: {}: {}", d->key, res.text);
    fail(*s->job, res);
    s->job.reset();
    // Waiting jobs would get the same answer; unless live connections can take them.
    if (!d->has_established()) fail_waiting(d, res);
    remove_slot(s);
    return settle(d);
  }
  // MX delivery: DANE and MTA-STS may decide per host (relayhost and routes
  // keep their configured level: the operator chose that path).
  if (!d->route && tls_policy && tls_policy->active()) {
    std::vector<std::string> hosts;
    for (const auto& t : s->targets)
      if (hosts.empty() || hosts.back() != t.host) hosts.push_back(t.host);
    s->policy_request = tls_policy->decide(d->domain, d->tls, std::move(hosts), [this, s](auto policies) {
      s->policy_request = 0;
      policies_decided(s, std::move(policies));
    });
    return;
  }
  for (auto& t : s->targets)
    t.policy.kind = d->tls == config::OutboundTls::May ? PolicyKind::Opportunistic : PolicyKind::Static;
  connect_next(s);
}

void Core::policies_decided(Slot* s, std::map<std::string, HostPolicy> policies) {
  for (auto& t : s->targets)
    if (auto it = policies.find(t.host); it != policies.end()) t.policy = it->second;
  connect_next(s);
}

// Try the slot's next target; when none is left the job fails with the last error.
void Core::connect_next(Slot* s) {
  Destination* d = s->dest;
  if (shutting_down || s->next_target >= s->targets.size()) {
    RecipientResult res = shutting_down || !s->last_error ? shutdown_result() : *s->last_error;
    if (s->tls_policy) s->job->agg->result.tls_policy = s->tls_policy;
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
  s->tls_policy = to_string(t.policy.kind);
  if (!t.policy.refuse.empty()) {
    // DANE or MTA-STS enforce rules this host out: never plaintext, never
    // an unchecked certificate; the next host may do (RFC 8461 §5, RFC 7672 §2.2).
    spdlog::warn("delivery: {}: {} ({})", d->key, t.policy.refuse, s->tls_policy);
    telemetry::local().delivery_tls_policy(s->tls_policy, "refused");
    s->last_error = local_result(Outcome::TempFail, 451, "4.7.5", t.policy.refuse);
    s->last_host = t.host;
    s->last_addr.clear();  // not the destination being down: no mark_down()
    return connect_next(s);
  }
  // The stricter of the static level and the policy's.
  config::OutboundTls level = d->tls;
  if (t.policy.level && static_cast<int>(*t.policy.level) > static_cast<int>(level)) level = *t.policy.level;
  open(s, t, level);
}

void Core::open(Slot* s, const Target& t, config::OutboundTls level) {
  // delivery.credentials_file: a host we log in to gets TLS at least
  // "encrypt" — the password never goes out in clear (outbound.h).
  std::optional<Credential> login;
  if (credentials) {
    const std::string& domain = s->job ? s->job->job.domain : s->dest->domain;
    if (auto table = credentials->current())
      if (const Credential* c = table->find(t.host, t.address.port(), domain)) login = *c;
    if (login && !tls_required(level)) level = config::OutboundTls::Encrypt;
  }
  Outbound::TlsSetup setup;
  setup.level = level;
  if (level != config::OutboundTls::None && tls) setup.context = level == config::OutboundTls::Verify ? tls->verified : tls->unverified;
  const bool dane = t.policy.kind == PolicyKind::Dane && !t.policy.tlsa.empty() && level != config::OutboundTls::None;
  if (dane) {
    // DANE: OpenSSL checks the chain against the TLSA records (tls.h new_dane_session).
    setup.context = tls ? tls->dane : nullptr;
    setup.dane = t.policy.tlsa;
  }
  if (!setup.context) {
    if (tls_required(level)) {
      // No TLS at all (bad CA file): every host would fail the same way.
      s->last_error = local_result(Outcome::TempFail, 451, "4.7.5", "TLS is required but not available: " + tls_error);
      s->next_target = s->targets.size();
      return connect_next(s);
    }
    setup.level = config::OutboundTls::None;
  }
  s->tls_key.clear();
  if (setup.context && config->delivery.tls_resumption && !dane) {
    s->tls_key = std::to_string(static_cast<int>(setup.level)) + " " + t.host + " " + t.address.to_string();
    if (auto it = tickets.find(s->tls_key); it != tickets.end()) setup.resume = it->second;
  }
  // delivery.no_chunking_hosts: a receiver whose CHUNKING is broken gets DATA
  // (matched by the host's name, or the address connected to).
  // (The Outbound takes its ClientConfig by value: this is its one copy.)
  smtp::ClientConfig cc = client;
  const auto& no_bdat = config->delivery.no_chunking_hosts;
  if (cc.use_chunking && !no_bdat.empty()) {
    const std::string ip = t.address.ip();
    cc.use_chunking = std::none_of(no_bdat.begin(), no_bdat.end(), [&](const std::string& h) {
      return strcasecmp(h.c_str(), t.host.c_str()) == 0 || h == ip;
    });
  }
  s->ob = std::make_shared<Outbound>(reactor, s, std::move(cc), timeouts, t.host, t.address, std::move(setup));
  if (login) s->ob->set_login(std::move(login->user), std::move(login->password));
  if (const auto* src = s->dest->source) {
    const auto& from = t.address.family() == AF_INET6 ? src->v6 : src->v4;
    if (from) s->ob->set_source(*from);
  }
  s->ob->start();
}

void Core::on_ready(Slot* s) {
  Destination* d = s->dest;
  // Once per connection, after EHLO (a TLS 1.3 server sends its tickets
  // right after the handshake, so they are in by now); the key is cleared
  // once used.
  if (!s->tls_key.empty()) {
    if (auto ticket = s->ob->tls_ticket()) {
      if (tickets.size() >= kMaxTickets && !tickets.count(s->tls_key)) tickets.clear();
      tickets[s->tls_key] = std::move(ticket);
    }
    s->tls_key.clear();
  }
  if (s->job && !s->in_txn && s->next_target > 0) {
    const HostPolicy& hp = s->targets[s->next_target - 1].policy;
    if (hp.testing && !s->ob->tls_verified())
      spdlog::warn("mta-sts: {}: testing policy: TLS to {} is not verified ({}); delivering anyway", d->domain,
                   s->ob->host(), s->ob->tls_description().empty() ? "no TLS" : "certificate not trusted");
    telemetry::local().delivery_tls_policy(s->tls_policy ? s->tls_policy : "opportunistic", "ok");
  }
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

void Core::on_result(Slot* s, smtp::TransactionResult tr) {
  s->in_txn = false;
  if (!s->job) return;
  Pending p = std::move(*s->job);
  s->job.reset();
  ++s->messages;
  if (s->tls_policy) p.agg->result.tls_policy = s->tls_policy;
  if (!shutting_down && s->messages > 1 && !p.retried && s->ob->closed() && died_before_start(tr)) {
    spdlog::debug("delivery: reused connection to {} was dead; retrying {}", s->ob->address_text(), p.job.id);
    p.retried = true;
    s->dest->waiting.push_front(std::move(p));  // settle() runs when this connection is gone
    return;
  }
  complete(p, tr.recipients, s->ob.get(), tr.remote_dsn);
}

void Core::on_closed(Slot* s) {
  Destination* d = s->dest;
  std::shared_ptr<Outbound> ob = std::move(s->ob);
  if (s->idle_timer) reactor.cancel_timer(s->idle_timer);
  s->idle_timer = 0;
  // A connection that never got ready (so its key is still set) may have
  // failed on the session it offered (a server that mishandles resumption):
  // the next one starts afresh.
  if (!ob->established() && !s->tls_key.empty()) tickets.erase(s->tls_key);
  if (s->job && !ob->established()) {  // connection-level failure: next target
    if (s->tls_policy && ob->failure().enhanced == "4.7.5")
      telemetry::local().delivery_tls_policy(s->tls_policy, "tls_failed");
    s->last_error = ob->failure();
    s->last_host = ob->host();
    s->last_addr = ob->address_text();
    if (is_loop(*s->last_error)) {
      // The server named itself with our host name: it is us, or mail given
      // to it comes back here. Another host of the list would not help.
      spdlog::warn("delivery: {}: {}", d->key, s->last_error->text);
      s->next_target = s->targets.size();
      return connect_next(s);
    }
    if (ob->tls_fallback() && !shutting_down && s->next_target > 0) {
      // "may": TLS broke during the handshake; this address once more in plaintext.
      spdlog::info("delivery: TLS handshake with {} ({}) failed; connecting again without TLS", ob->host(),
                   ob->address_text());
      return open(s, s->targets[s->next_target - 1], config::OutboundTls::None);
    }
    return connect_next(s);
  }
  if (s->job)  // cannot happen (results come before the close); never lose a job
    fail(*s->job, local_result(Outcome::TempFail, 421, "4.4.2", "lost connection with " + ob->host()),
         ob->host(), ob->address_text());
  remove_slot(s);
  settle(d);
}

Slot::~Slot() {
  if (ob) ob->detach();
  if (idle_timer) impl->reactor.cancel_timer(idle_timer);
  if (resolving && impl->resolver) impl->resolver->cancel(dns_request);
  if (policy_request && impl->tls_policy) impl->tls_policy->cancel(policy_request);
}
void Slot::outbound_ready(Outbound&) { impl->on_ready(this); }
void Slot::outbound_result(Outbound&, smtp::TransactionResult tr) { impl->on_result(this, std::move(tr)); }
void Slot::outbound_closed(Outbound&) { impl->on_closed(this); }

}  // namespace ringmta::relay::delivery_detail
