// dns/resolver_query.cpp — Resolver::query(): one raw DNS question on the
// shard's c-ares channel, for the record types the MX path does not know
// (TLSA for DANE, TXT for MTA-STS).
//
// c-ares 1.18 has no flag for the AD/DO bits, so the question is built with
// ares_create_query() (which adds the EDNS OPT record when given a UDP size)
// and the bits are set in the bytes before ares_send(). The answer is handed
// over whole: only the caller knows whether the AD bit matters.
#include <ares.h>

#include <cstring>

#include "dns/resolver_impl.h"

namespace ringmta::dns {
namespace {

struct RawCtx {
  detail::Impl* impl;
  std::weak_ptr<char> alive;
  Resolver::RequestId id;
  std::string name;
};

void finish(detail::Impl* impl, Resolver::RequestId id, Resolver::QueryResult result) {
  // Never call user code from inside c-ares or query(): post to the loop.
  impl->reactor.post([impl, id, weak = std::weak_ptr<char>(impl->alive), result = std::move(result)] {
    if (!weak.lock()) return;  // the Resolver is gone
    auto it = impl->queries.find(id);
    if (it == impl->queries.end()) return;  // cancelled
    auto cb = std::move(it->second);
    impl->queries.erase(it);
    cb(result);
  });
}

void raw_trampoline(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  std::unique_ptr<RawCtx> ctx(static_cast<RawCtx*>(arg));
  if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED || ctx->alive.expired()) return;
  Resolver::QueryResult r;
  if (abuf && alen > 0 && status == ARES_SUCCESS) {
    r.message.assign(abuf, abuf + alen);
  } else {
    r.error = "lookup for " + ctx->name + ": " + ares_strerror(status);
  }
  finish(ctx->impl, ctx->id, std::move(r));
}

}  // namespace

Resolver::RequestId Resolver::query(std::string_view name, uint16_t qtype, bool dnssec, QueryCallback cb) {
  auto& d = *impl_;
  const RequestId id = d.next_request++;
  d.queries.emplace(id, std::move(cb));
  const std::string n = wire::normalize_name(name);
  if (!d.channel) {
    finish(&d, id, QueryResult{{}, "resolver not available: " + d.init_error});
    return id;
  }
  unsigned char* buf = nullptr;
  int len = 0;
  // 1232: the EDNS buffer size the channel uses (resolver_ares.cpp).
  const int rc = ares_create_query(n.c_str(), 1 /* IN */, qtype, 0, 1 /* RD */, &buf, &len, 1232);
  if (rc != ARES_SUCCESS || len < 12 + 11) {
    if (buf) ares_free_string(buf);
    finish(&d, id, QueryResult{{}, "cannot build a query for " + n + ": " + ares_strerror(rc)});
    return id;
  }
  if (dnssec) {
    buf[3] |= 0x20;        // AD: "tell me whether you validated" (RFC 6840 §5.7)
    buf[len - 4] |= 0x80;  // DO in the OPT record's flags (RFC 3225), the last RR
  }
  ++d.stats.queries_sent;
  auto* ctx = new RawCtx{&d, d.alive, id, n};
  ares_send(d.channel, buf, len, &raw_trampoline, ctx);
  ares_free_string(buf);
  d.schedule_ares_timer();
  return id;
}

}  // namespace ringmta::dns
