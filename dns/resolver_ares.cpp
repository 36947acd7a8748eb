// dns/resolver_ares.cpp — the c-ares channel, driven by the shard's reactor.
//
// c-ares tells us through ARES_OPT_SOCK_STATE_CB which sockets it wants read
// or write readiness for; each becomes a Reactor::poll_fd watch whose callback
// calls ares_process_fd(). ares_timeout() is mirrored by one reactor timer
// that calls ares_process_fd(ARES_SOCKET_BAD, ARES_SOCKET_BAD) so c-ares can
// retry and time out queries. Nothing here blocks. Each finished question is
// classified into an Entry (data / NODATA / NXDOMAIN / temporary failure).
#include <arpa/inet.h>
#include <poll.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "dns/resolver_impl.h"

namespace ringmta::dns::detail {
namespace {

void sock_state_trampoline(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<Impl*>(data)->on_sock_state(fd, readable != 0, writable != 0);
}

void answer_trampoline(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<QueryCtx> ctx(static_cast<QueryCtx*>(arg));
  // EDESTRUCTION: ares_destroy() from ~Impl; the Impl must not be touched.
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;
  if (ctx->fetch->done) return;  // already timed out (our deadline beat c-ares)
  ctx->impl->on_answer(*ctx, status, abuf, alen);
}

const char* qtype_name(uint16_t qtype) {
  switch (qtype) {
    case wire::kTypeMx: return "MX";
    case wire::kTypeA: return "A";
    case wire::kTypeAaaa: return "AAAA";
    default: return "?";
  }
}

// Builds the explicit server list; returns false with *error on a bad entry.
bool set_servers(ares_channel channel, const std::vector<std::string>& servers,
                 std::string* error) {
  std::vector<ares_addr_port_node> nodes(servers.size());
  for (size_t i = 0; i < servers.size(); ++i) {
    auto addr = engine::SocketAddress::parse(servers[i]);
    if (!addr) addr = engine::SocketAddress::from_ip(servers[i], 53);
    if (!addr) {
      *error = "bad DNS server address: " + servers[i];
      return false;
    }
    ares_addr_port_node& n = nodes[i];
    std::memset(&n, 0, sizeof n);
    n.family = addr->family();
    if (n.family == AF_INET) {
      std::memcpy(&n.addr.addr4, &reinterpret_cast<const sockaddr_in*>(addr->data())->sin_addr, 4);
    } else {
      std::memcpy(&n.addr.addr6, &reinterpret_cast<const sockaddr_in6*>(addr->data())->sin6_addr,
                  16);
    }
    n.udp_port = n.tcp_port = addr->port();
    n.next = i + 1 < nodes.size() ? &nodes[i + 1] : nullptr;
  }
  int rc = ares_set_servers_ports(channel, nodes.empty() ? nullptr : nodes.data());
  if (rc != ARES_SUCCESS) {
    *error = std::string("setting DNS servers: ") + ares_strerror(rc);
    return false;
  }
  return true;
}

size_t count_servers(ares_channel channel) {
  ares_addr_port_node* list = nullptr;
  if (ares_get_servers_ports(channel, &list) != ARES_SUCCESS) return 1;
  size_t n = 0;
  for (auto* p = list; p; p = p->next) ++n;
  ares_free_data(list);
  return std::max<size_t>(n, 1);
}

}  // namespace

bool Impl::init_channel() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });

  // c-ares doubles the per-try timeout each round over the servers: attempt k
  // waits base << (k / nservers). Pick base so all tries fit in options.timeout;
  // our own per-fetch deadline timer is what guarantees the bound.
  auto make = [&](size_t nservers, ares_channel* out) {
    int tries = std::max(options.tries, 1);
    long rounds = (1L << std::min(tries, 16)) - 1;
    long base = options.timeout.count() / (static_cast<long>(nservers) * rounds);
    ares_options o{};
    o.sock_state_cb = &sock_state_trampoline;
    o.sock_state_cb_data = this;
    o.timeout = static_cast<int>(std::max(base, 1L));
    o.tries = tries;
    o.flags = ARES_FLAG_EDNS;  // fewer truncated UDP answers for big MX sets
    o.ednspsz = 1232;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS |
               ARES_OPT_EDNSPSZ;
    int rc = ares_init_options(out, &o, mask);
    if (rc != ARES_SUCCESS) {
      init_error = std::string("c-ares init: ") + ares_strerror(rc);
      *out = nullptr;
      return false;
    }
    if (!options.servers.empty() && !set_servers(*out, options.servers, &init_error)) {
      ares_destroy(*out);
      *out = nullptr;
      return false;
    }
    return true;
  };

  size_t n = options.servers.empty() ? 1 : options.servers.size();
  if (!make(n, &channel)) return false;
  size_t actual = count_servers(channel);
  if (actual != n) {  // system servers: now we know how many there are
    ares_destroy(channel);
    channel = nullptr;
    if (!make(actual, &channel)) return false;
  }
  return true;
}

void Impl::send_question(const std::shared_ptr<Fetch>& f, size_t slot) {
  ++stats.queries_sent;
  auto* ctx = new QueryCtx{this, f, slot};
  // May call back synchronously (e.g. bad name): the fetch copes with that.
  ares_query(channel, f->name.c_str(), 1 /* class IN */, f->qtypes[slot], &answer_trampoline, ctx);
}

void Impl::on_answer(QueryCtx& ctx, int status, const unsigned char* abuf, int alen) {
  Fetch& f = *ctx.fetch;
  if (f.outcomes[ctx.slot]) return;
  f.outcomes[ctx.slot] = classify(status, abuf, alen, f.qtypes[ctx.slot], f.name);
  --f.outstanding;
  maybe_complete(ctx.fetch);
}

Entry Impl::classify(int status, const unsigned char* abuf, int alen, uint16_t qtype,
                     const std::string& name) const {
  Entry e;
  auto what = [&] { return std::string(qtype_name(qtype)) + " lookup for " + name + ": "; };
  auto negative = [&](std::optional<uint32_t> soa) {
    uint32_t cap = static_cast<uint32_t>(options.negative_ttl.count());
    return soa ? std::min(*soa, cap) : cap;
  };
  bool have_answer = abuf != nullptr && alen > 0 &&
                     (status == ARES_SUCCESS || status == ARES_ENODATA || status == ARES_ENOTFOUND);
  if (have_answer) {
    wire::Answer a;
    std::string err;
    if (!wire::parse_answer(abuf, static_cast<size_t>(alen), qtype, &a, &err)) {
      e.error = what() + "malformed answer (" + err + ")";
      e.ttl = static_cast<uint32_t>(options.tempfail_ttl.count());
      return e;
    }
    if (a.rcode == wire::kRcodeNxDomain) {
      e.status = Status::kNxDomain;
      e.error = what() + "NXDOMAIN (domain does not exist)";
      e.ttl = negative(a.negative_ttl);
      return e;
    }
    if (a.rcode == wire::kRcodeNoError) {
      if (a.mx.empty() && a.addresses.empty()) {
        e.status = Status::kNoData;
        e.error = what() + "no " + qtype_name(qtype) + " records";
        e.ttl = negative(a.negative_ttl);
        return e;
      }
      e.status = Status::kData;
      e.ttl = std::min(a.ttl.value_or(0), static_cast<uint32_t>(options.max_ttl.count()));
      e.mx = std::move(a.mx);
      for (auto& ip : a.addresses) (ip.family == AF_INET ? e.v4 : e.v6).push_back(ip);
      return e;
    }
    e.error = what() + "rcode " + std::to_string(a.rcode);
  } else if (status == ARES_ENOTFOUND) {
    e.status = Status::kNxDomain;
    e.error = what() + "NXDOMAIN (domain does not exist)";
    e.ttl = negative(std::nullopt);
    return e;
  } else if (status == ARES_ENODATA) {
    e.status = Status::kNoData;
    e.error = what() + "no " + qtype_name(qtype) + " records";
    e.ttl = negative(std::nullopt);
    return e;
  } else {
    // SERVFAIL, REFUSED, timeout, connection refused, bad response...: retry later.
    e.error = what() + ares_strerror(status);
  }
  e.status = Status::kTempFail;
  e.ttl = static_cast<uint32_t>(options.tempfail_ttl.count());
  return e;
}

void Impl::on_sock_state(int fd, bool readable, bool writable) {
  auto it = sockets.find(fd);
  unsigned events = (readable ? POLLIN : 0) | (writable ? POLLOUT : 0);
  if (it != sockets.end()) {
    if (it->second.events == events) return;
    reactor.cancel_poll(it->second.id);
    sockets.erase(it);
  }
  if (events == 0) return;  // c-ares is about to close it
  auto id = reactor.poll_fd(fd, events, [this, fd](unsigned revents) { on_socket_ready(fd, revents); });
  // id 0: the reactor could not watch it; the fetch deadline still ends the wait.
  sockets.emplace(fd, Watch{id, events});
}

void Impl::on_socket_ready(int fd, unsigned revents) {
  auto it = sockets.find(fd);
  if (it == sockets.end()) return;
  unsigned want = it->second.events;
  bool err = (revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
  ares_socket_t r = ((revents & POLLIN) || (err && (want & POLLIN))) ? fd : ARES_SOCKET_BAD;
  ares_socket_t w = ((revents & POLLOUT) || (err && (want & POLLOUT))) ? fd : ARES_SOCKET_BAD;
  ares_process_fd(channel, r, w);
  schedule_ares_timer();
}

void Impl::schedule_ares_timer() {
  if (!channel || destroying) return;
  timeval tv{};
  if (!ares_timeout(channel, nullptr, &tv)) return;  // nothing pending
  auto after = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
  auto when = Clock::now() + after;
  // An earlier timer is enough: when it fires we process and re-arm from there.
  if (ares_timer != 0 && ares_timer_when <= when) return;
  if (ares_timer != 0) reactor.cancel_timer(ares_timer);
  ares_timer_when = when;
  ares_timer = reactor.add_timer(after, [this] {
    ares_timer = 0;
    ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    schedule_ares_timer();
  });
}

}  // namespace ringmta::dns::detail
