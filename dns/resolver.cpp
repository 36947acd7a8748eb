// dns/resolver.cpp — Resolver: cache, in-flight sharing, MX composition.
//
// A "fetch" answers one cacheable question for a name: its MX set, or its
// addresses (A and AAAA asked in parallel). resolve_mx() chains them per
// RFC 5321 §5.1: the MX fetch, then one address fetch per MX host (in
// parallel), or for NODATA the implicit MX (the domain's own addresses).
// The equal-preference shuffle is done per request, also for cached MX sets.
// Results reach the user from a zero-delay reactor timer (flush()).
#include "dns/resolver.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include "dns/resolver_impl.h"

namespace ringmta::dns {

const char* to_string(ResultKind kind) {
  switch (kind) {
    case ResultKind::kOk: return "ok";
    case ResultKind::kNxDomain: return "nxdomain";
    case ResultKind::kNullMx: return "null-mx";
    case ResultKind::kNoAddress: return "no-address";
    case ResultKind::kTempFail: return "tempfail";
  }
  return "?";
}

namespace detail {
namespace {

engine::SocketAddress to_socket_address(const wire::IpAddress& ip) {
  if (ip.family == AF_INET) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    std::memcpy(&sin.sin_addr, ip.bytes.data(), 4);
    return engine::SocketAddress(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
  }
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  std::memcpy(&sin6.sin6_addr, ip.bytes.data(), 16);
  return engine::SocketAddress(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
}

// "192.0.2.1", "::1", "[192.0.2.1]", "[IPv6:2001:db8::1]" -> address, port 0.
std::optional<engine::SocketAddress> ip_literal(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
    s = s.substr(1, s.size() - 2);
    if (s.size() > 5 && strncasecmp(s.data(), "IPv6:", 5) == 0) s.remove_prefix(5);
  }
  if (s.find_first_not_of("0123456789abcdefABCDEF.:") != std::string_view::npos) return std::nullopt;
  return engine::SocketAddress::from_ip(s, 0);
}

// Syntax only: a name that can never resolve is answered kNxDomain without DNS.
bool plausible_name(const std::string& n) {
  if (n.empty() || n.size() > 253) return false;
  size_t label = 0;
  for (char c : n) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f || ++label > 63) return false;
  }
  return label > 0;
}

const char* status_text(Status s) {
  switch (s) {
    case Status::kNxDomain: return "NXDOMAIN";
    case Status::kNoData: return "no A/AAAA records";
    case Status::kTempFail: return "temporary failure";
    case Status::kData: return "ok";
  }
  return "?";
}

}  // namespace

Impl::Impl(engine::Reactor& r, ResolverOptions o)
    : reactor(r), options(std::move(o)), cache(options.cache_entries), rng(std::random_device{}()) {
  init_channel();
}

Impl::~Impl() {
  destroying = true;
  if (flush_timer) reactor.cancel_timer(flush_timer);
  if (ares_timer) reactor.cancel_timer(ares_timer);
  for (auto& [key, f] : pending) {
    if (f->deadline) reactor.cancel_timer(f->deadline);
    f->done = true;
  }
  pending.clear();  // drops the internal waiters (and the MX jobs they hold)
  requests.clear();
  queries.clear();
  ready.clear();
  // Calls every outstanding query back with ARES_EDESTRUCTION (contexts freed,
  // nothing else touched) and closes the sockets through on_sock_state().
  if (channel) ares_destroy(channel);
  for (auto& [fd, w] : sockets) reactor.cancel_poll(w.id);
}

Resolver::RequestId Impl::add_request(Resolver::Callback cb) {
  Resolver::RequestId id = next_request++;
  requests.emplace(id, std::move(cb));
  return id;
}

void Impl::fetch(FetchKind kind, const std::string& name, std::function<void(const Entry&)> waiter) {
  std::string key = (kind == FetchKind::kMx ? "M:" : "H:") + name;
  if (Entry* hit = cache.find(key)) {
    if (hit->expires > now()) {
      ++stats.cache_hits;
      Entry copy = *hit;  // the waiter may change the cache
      waiter(copy);
      return;
    }
    cache.erase(key);
  }
  if (auto it = pending.find(key); it != pending.end()) {
    ++stats.joined_inflight;
    it->second->waiters.push_back(std::move(waiter));
    return;
  }
  ++stats.cache_misses;
  auto f = std::make_shared<Fetch>();
  f->kind = kind;
  f->name = name;
  f->key = key;
  f->waiters.push_back(std::move(waiter));
  if (kind == FetchKind::kMx) {
    f->qtypes = {wire::kTypeMx};
  } else {
    switch (options.address_order) {
      case AddressOrder::kIpv4Only: f->qtypes = {wire::kTypeA}; break;
      case AddressOrder::kIpv6Only: f->qtypes = {wire::kTypeAaaa}; break;
      default: f->qtypes = {wire::kTypeA, wire::kTypeAaaa}; break;
    }
  }
  f->outcomes.resize(f->qtypes.size());
  f->outstanding = f->qtypes.size();
  pending.emplace(key, f);
  // The deadline goes first: c-ares may answer synchronously (and complete us).
  f->deadline = reactor.add_timer(options.timeout, [this, f] { on_deadline(f); });
  for (size_t i = 0; i < f->qtypes.size() && !f->done; ++i) send_question(f, i);
  schedule_ares_timer();
}

void Impl::on_deadline(const std::shared_ptr<Fetch>& f) {
  f->deadline = 0;
  if (f->done) return;
  ++stats.query_timeouts;
  for (size_t i = 0; i < f->outcomes.size(); ++i) {
    if (f->outcomes[i]) continue;
    Entry e;
    e.status = Status::kTempFail;
    e.ttl = static_cast<uint32_t>(options.tempfail_ttl.count());
    e.error = "lookup for " + f->name + ": no answer within " +
              std::to_string(options.timeout.count()) + " ms";
    f->outcomes[i] = std::move(e);
  }
  f->outstanding = 0;
  maybe_complete(f);
}

void Impl::maybe_complete(const std::shared_ptr<Fetch>& f) {
  if (f->outstanding > 0 || f->done) return;
  f->done = true;
  if (f->deadline) reactor.cancel_timer(f->deadline);
  f->deadline = 0;
  Entry e = combine(*f);
  e.expires = now() + std::chrono::seconds(e.ttl);
  if (e.ttl > 0) stats.cache_evictions += cache.put(f->key, e);
  pending.erase(f->key);
  auto waiters = std::move(f->waiters);
  for (auto& w : waiters) w(e);
}

// One Entry for the fetch from its questions' outcomes.
Entry Impl::combine(const Fetch& f) const {
  if (f.outcomes.size() == 1) return *f.outcomes[0];
  // Host fetch with A and AAAA: any address wins; then temporary failures
  // (never turn a timeout into a permanent answer); then NXDOMAIN; then NODATA.
  // TTL: the data's, shortened by temp-failed families; a NODATA family does
  // not shorten it (an IPv4-only host would otherwise expire every
  // negative_ttl just to learn again that it has no AAAA).
  Entry e;
  uint32_t ttl = UINT32_MAX, negative = UINT32_MAX;
  bool temp = false, nx = false;
  std::string notes;
  for (const auto& o : f.outcomes) {
    bool positive = o->status == Status::kData || o->status == Status::kTempFail;
    uint32_t& slot = positive ? ttl : negative;
    slot = std::min(slot, o->ttl);
    e.v4.insert(e.v4.end(), o->v4.begin(), o->v4.end());
    e.v6.insert(e.v6.end(), o->v6.begin(), o->v6.end());
    temp |= o->status == Status::kTempFail;
    nx |= o->status == Status::kNxDomain;
    if (o->status == Status::kTempFail) notes += (notes.empty() ? "" : "; ") + o->error;
  }
  e.ttl = (!e.v4.empty() || !e.v6.empty()) ? ttl : std::min(ttl, negative);
  e.error = notes;
  if (!e.v4.empty() || !e.v6.empty()) {
    e.status = Status::kData;  // a temp-failed family only shortens the TTL (above)
  } else if (temp) {
    e.status = Status::kTempFail;
  } else if (nx) {
    e.status = Status::kNxDomain;
    e.error = "lookup for " + f.name + ": NXDOMAIN (domain does not exist)";
  } else {
    e.status = Status::kNoData;
    e.error = f.name + " has no A/AAAA records";
  }
  return e;
}

Result Impl::host_result(const std::string& name, const Entry& e) const {
  Result r;
  r.ttl = std::chrono::seconds(e.ttl);
  r.error = e.error;
  switch (e.status) {
    case Status::kData: {
      r.kind = ResultKind::kOk;
      MxHost h;
      h.name = name;
      bool v6_first = options.address_order == AddressOrder::kIpv6First;
      for (const auto* list : {v6_first ? &e.v6 : &e.v4, v6_first ? &e.v4 : &e.v6}) {
        for (const auto& ip : *list) h.addresses.push_back(to_socket_address(ip));
      }
      r.hosts.push_back(std::move(h));
      break;
    }
    case Status::kNoData: r.kind = ResultKind::kNoAddress; break;
    case Status::kNxDomain: r.kind = ResultKind::kNxDomain; break;
    case Status::kTempFail: r.kind = ResultKind::kTempFail; break;
  }
  return r;
}

void Impl::on_mx_entry(Resolver::RequestId id, const std::string& domain, const Entry& mx) {
  if (mx.status == Status::kNxDomain || mx.status == Status::kTempFail) {
    deliver(id, host_result(domain, mx));  // same mapping, no hosts
    return;
  }
  if (mx.status == Status::kNoData) {
    // RFC 5321 §5.1 implicit MX: the domain itself, preference 0.
    uint32_t mx_ttl = mx.ttl;
    fetch(FetchKind::kHost, domain, [this, id, domain, mx_ttl](const Entry& h) {
      Result r = host_result(domain, h);
      r.ttl = std::min(r.ttl, std::chrono::seconds(mx_ttl));
      if (r.kind == ResultKind::kOk) r.implicit = true;
      if (r.kind == ResultKind::kNoAddress) {
        r.error = domain + " has no MX and no A/AAAA records";
      }
      deliver(id, std::move(r));
    });
    return;
  }
  // RFC 7505: a lone "0 ." means the domain accepts no mail. A null MX mixed
  // with real ones is a misconfiguration: the real ones are used.
  std::vector<wire::MxRecord> records;
  for (const auto& rec : mx.mx) {
    if (!rec.exchange.empty()) records.push_back(rec);
  }
  if (records.empty()) {
    Result r;
    r.kind = ResultKind::kNullMx;
    r.ttl = std::chrono::seconds(mx.ttl);
    r.error = domain + " does not accept mail (null MX, RFC 7505)";
    deliver(id, std::move(r));
    return;
  }
  wire::order_mx(records, [this] { return random(); });
  std::vector<wire::MxRecord> unique;
  for (auto& rec : records) {
    bool seen = std::any_of(unique.begin(), unique.end(),
                            [&](const wire::MxRecord& u) { return u.exchange == rec.exchange; });
    if (!seen && unique.size() < options.max_mx_hosts) unique.push_back(std::move(rec));
  }

  struct Job {
    std::vector<wire::MxRecord> mx;
    std::vector<std::optional<Entry>> hosts;
    size_t remaining;
    uint32_t ttl;
  };
  auto job = std::make_shared<Job>(Job{std::move(unique), {}, 0, mx.ttl});
  job->hosts.resize(job->mx.size());
  job->remaining = job->mx.size();
  auto finish = [this, id, domain](Job& j) {
    Result r;
    r.ttl = std::chrono::seconds(j.ttl);
    std::string skipped;
    for (size_t i = 0; i < j.mx.size(); ++i) {
      const Entry& h = *j.hosts[i];
      r.ttl = std::min(r.ttl, std::chrono::seconds(h.ttl));
      Result one = host_result(j.mx[i].exchange, h);
      if (one.kind == ResultKind::kOk) {
        one.hosts[0].preference = j.mx[i].preference;
        r.hosts.push_back(std::move(one.hosts[0]));
      } else {
        skipped += (skipped.empty() ? "" : ", ") + j.mx[i].exchange + " (" +
                   (h.status == Status::kTempFail ? h.error : status_text(h.status)) + ")";
      }
    }
    if (r.hosts.empty()) {
      r.kind = ResultKind::kTempFail;  // as Postfix: "MX host has no address" defers
      r.error = "MX host has no address: " + skipped;
    } else {
      r.kind = ResultKind::kOk;
      if (!skipped.empty()) r.error = "skipped MX hosts: " + skipped;
    }
    deliver(id, std::move(r));
  };
  // Copy the names first: a synchronous (cached) answer may finish the job.
  std::vector<std::string> names;
  for (const auto& rec : job->mx) names.push_back(rec.exchange);
  for (size_t i = 0; i < names.size(); ++i) {
    fetch(FetchKind::kHost, names[i], [job, i, finish](const Entry& h) {
      job->hosts[i] = h;
      if (--job->remaining == 0) finish(*job);
    });
  }
}

void Impl::deliver(Resolver::RequestId id, Result result) {
  switch (result.kind) {
    case ResultKind::kOk: ++stats.ok; break;
    case ResultKind::kNxDomain: ++stats.nxdomain; break;
    case ResultKind::kNullMx: ++stats.null_mx; break;
    case ResultKind::kNoAddress: ++stats.no_address; break;
    case ResultKind::kTempFail: ++stats.tempfail; break;
  }
  ready.emplace_back(id, std::move(result));
  if (flush_timer == 0) {
    flush_timer = reactor.add_timer(Clock::duration::zero(), [this] { flush(); });
  }
}

void Impl::flush() {
  flush_timer = 0;
  auto batch = std::move(ready);
  ready.clear();
  std::weak_ptr<char> still_here = alive;
  for (auto& [id, result] : batch) {
    auto it = requests.find(id);
    if (it == requests.end()) continue;  // cancelled
    auto cb = std::move(it->second);
    requests.erase(it);
    cb(result);
    if (still_here.expired()) return;  // the callback destroyed the Resolver
  }
}

}  // namespace detail

Resolver::Resolver(engine::Reactor& reactor, ResolverOptions options)
    : impl_(std::make_unique<detail::Impl>(reactor, std::move(options))) {}

Resolver::~Resolver() = default;

bool Resolver::ok() const { return impl_->channel != nullptr; }
const std::string& Resolver::init_error() const { return impl_->init_error; }
const ResolverStats& Resolver::stats() const { return impl_->stats; }
size_t Resolver::cache_size() const { return impl_->cache.size(); }
void Resolver::clear_cache() { impl_->cache.clear(); }
void Resolver::cancel(RequestId id) {
  impl_->requests.erase(id);
  impl_->queries.erase(id);
}

Resolver::RequestId Resolver::resolve_host(std::string_view name, Callback cb) {
  auto& d = *impl_;
  ++d.stats.host_lookups;
  RequestId id = d.add_request(std::move(cb));
  std::string n = wire::normalize_name(name);
  Result r;
  if (auto ip = detail::ip_literal(n)) {
    r.kind = ResultKind::kOk;
    r.ttl = d.options.max_ttl;
    r.hosts.push_back(MxHost{n, 0, {*ip}});
  } else if (!detail::plausible_name(n)) {
    r.kind = ResultKind::kNxDomain;
    r.error = "invalid host name '" + std::string(name) + "'";
  } else if (!ok()) {
    r.error = "resolver not available: " + d.init_error;
  } else {
    d.fetch(detail::FetchKind::kHost, n,
            [&d, id, n](const detail::Entry& e) { d.deliver(id, d.host_result(n, e)); });
    return id;
  }
  d.deliver(id, std::move(r));
  return id;
}

Resolver::RequestId Resolver::resolve_mx(std::string_view domain, Callback cb) {
  auto& d = *impl_;
  ++d.stats.mx_lookups;
  RequestId id = d.add_request(std::move(cb));
  std::string n = wire::normalize_name(domain);
  Result r;
  if (n.size() > 2 && n.front() == '[') {  // address literal: no MX lookup (RFC 5321 §5.1)
    if (auto ip = detail::ip_literal(n)) {
      r.kind = ResultKind::kOk;
      r.ttl = d.options.max_ttl;
      r.hosts.push_back(MxHost{n, 0, {*ip}});
      r.implicit = true;
    } else {
      r.kind = ResultKind::kNxDomain;
      r.error = "invalid address literal '" + std::string(domain) + "'";
    }
  } else if (!detail::plausible_name(n)) {
    r.kind = ResultKind::kNxDomain;
    r.error = "invalid domain name '" + std::string(domain) + "'";
  } else if (!ok()) {
    r.error = "resolver not available: " + d.init_error;
  } else {
    d.fetch(detail::FetchKind::kMx, n,
            [&d, id, n](const detail::Entry& e) { d.on_mx_entry(id, n, e); });
    return id;
  }
  d.deliver(id, std::move(r));
  return id;
}

}  // namespace ringmta::dns
