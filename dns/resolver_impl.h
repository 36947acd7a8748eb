// dns/resolver_impl.h — private state of a Resolver (not part of the public API).
//
// Two layers. The lower one (resolver_ares.cpp) drives a c-ares channel from
// the reactor and turns each finished DNS question into an Outcome. The upper
// one (resolver.cpp) keeps "fetches": the MX set of a domain ("M:" keys) or the
// A/AAAA addresses of a host ("H:" keys), each answered from the LRU cache,
// joined while in flight, or fetched; resolve_mx/resolve_host compose fetches
// into a Result, which is handed to the user from a zero-delay timer so that no
// user code ever runs inside c-ares or inside a resolve_*() call.
#pragma once

#include <ares.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dns/lru_cache.h"
#include "dns/resolver.h"
#include "dns/wire.h"

namespace ringmta::dns::detail {

using engine::Clock;

enum class Status : uint8_t { kData, kNoData, kNxDomain, kTempFail };

// What one DNS question (or a whole fetch) came to.
struct Entry {
  Status status = Status::kTempFail;
  std::vector<wire::MxRecord> mx;     // MX fetch, kData
  std::vector<wire::IpAddress> v4;    // host fetch, kData
  std::vector<wire::IpAddress> v6;
  uint32_t ttl = 0;                   // seconds this may be cached
  Clock::time_point expires{};
  std::string error;                  // human-readable, for failures and notes
};

enum class FetchKind : uint8_t { kMx, kHost };

struct Fetch {
  FetchKind kind;
  std::string name;  // normalized
  std::string key;
  std::vector<std::function<void(const Entry&)>> waiters;
  // One slot per question: MX, or A and AAAA. nullopt = not answered yet.
  std::vector<uint16_t> qtypes;
  std::vector<std::optional<Entry>> outcomes;
  size_t outstanding = 0;
  engine::TimerId deadline = 0;
  bool done = false;
};

struct Impl;

// The c-ares callback argument: lives until c-ares calls back (always, at the
// latest with ARES_EDESTRUCTION from ares_destroy).
struct QueryCtx {
  Impl* impl;
  std::shared_ptr<Fetch> fetch;
  size_t slot;
};

struct Impl {
  Impl(engine::Reactor& reactor, ResolverOptions options);
  ~Impl();

  // --- c-ares driving (resolver_ares.cpp) ---
  bool init_channel();
  void send_question(const std::shared_ptr<Fetch>& f, size_t slot);
  void on_sock_state(int fd, bool readable, bool writable);
  void on_socket_ready(int fd, unsigned revents);
  void schedule_ares_timer();
  Entry classify(int status, const unsigned char* abuf, int alen, uint16_t qtype,
                 const std::string& name) const;
  void on_answer(QueryCtx& ctx, int status, const unsigned char* abuf, int alen);

  // --- fetches, cache and results (resolver.cpp) ---
  void fetch(FetchKind kind, const std::string& name, std::function<void(const Entry&)> waiter);
  void on_deadline(const std::shared_ptr<Fetch>& f);
  void maybe_complete(const std::shared_ptr<Fetch>& f);
  Entry combine(const Fetch& f) const;
  void on_mx_entry(Resolver::RequestId id, const std::string& domain, const Entry& e);
  Result host_result(const std::string& name, const Entry& e) const;
  void deliver(Resolver::RequestId id, Result result);
  void flush();
  Resolver::RequestId add_request(Resolver::Callback cb);
  Clock::time_point now() const { return options.now ? options.now() : Clock::now(); }
  uint64_t random() { return options.random ? options.random() : rng(); }

  engine::Reactor& reactor;
  ResolverOptions options;
  ResolverStats stats;
  std::string init_error;
  ares_channel channel = nullptr;
  bool destroying = false;

  // c-ares sockets being watched: fd -> (poll id, events).
  struct Watch {
    engine::Reactor::PollId id;
    unsigned events;
  };
  std::unordered_map<int, Watch> sockets;
  engine::TimerId ares_timer = 0;
  Clock::time_point ares_timer_when{};

  LruCache<Entry> cache;
  std::unordered_map<std::string, std::shared_ptr<Fetch>> pending;

  std::unordered_map<Resolver::RequestId, Resolver::Callback> requests;
  std::unordered_map<Resolver::RequestId, Resolver::QueryCallback> queries;  // query() (resolver_query.cpp)
  std::vector<std::pair<Resolver::RequestId, Result>> ready;
  engine::TimerId flush_timer = 0;
  Resolver::RequestId next_request = 1;

  std::mt19937_64 rng;
  // Expires when the Impl goes: flush() checks it after each user callback,
  // since a callback may destroy the Resolver.
  std::shared_ptr<char> alive = std::make_shared<char>();
};

}  // namespace ringmta::dns::detail
