// relay/mta_sts_fetcher.h — getting MTA-STS policies (RFC 8461 §3.3) over
// HTTPS with libcurl on one worker thread, and keeping them durably.
//
// Shards never fetch: a shard's TlsPolicy (tls_policy.h) looks up the
// "_mta-sts" TXT record and the addresses of mta-sts.DOMAIN with its own
// c-ares resolver, then calls lookup(); the worker answers from its cache or
// fetches, and posts the answer to that shard's reactor.
//
// The fetch connects to the addresses the shard resolved (CURLOPT_RESOLVE),
// so the policy host is found through the same DNS as the MX hosts (the
// [dns] servers) and never through the system resolver; the certificate is
// checked for mta-sts.DOMAIN against the system CAs plus delivery.tls_ca_file.
// No redirects (§3.3), HTTPS only, at most 64 KiB, 200 with text/plain,
// a 10 s overall timeout.
//
// Cache: one small file per domain in DATA_DIR/mta-sts/ (written by the
// worker: the id, the fetch time and the policy text), read back on the
// first lookup of a domain after a restart. A policy is reused until its
// max_age passes; a new TXT id fetches again at once (§5.1); a failed
// refresh keeps the cached, unexpired policy.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "engine/reactor.h"
#include "relay/mta_sts_policy.h"

namespace ringmta::relay {

class MtaStsFetcher {
 public:
  struct Options {
    std::string cache_dir;  // "" = memory only
    std::string ca_file;    // trusted besides the system store ("" = system only)
    uint16_t port = 443;    // delivery.mta_sts_port
    std::chrono::milliseconds timeout{10000};
  };
  struct Request {
    std::string domain;                    // lower case
    std::optional<std::string> txt_id;     // null: no (valid) STSv1 TXT record
    std::vector<std::string> addresses;    // of mta-sts.DOMAIN, as IP text
  };
  struct Answer {
    std::optional<mta_sts::Policy> policy;  // null: no policy applies
    std::string id;
    std::string note;                       // why none / "cached" / a failed refresh, for logs
  };

  explicit MtaStsFetcher(Options options);
  ~MtaStsFetcher();  // stops and joins the worker; queued lookups are dropped
  MtaStsFetcher(const MtaStsFetcher&) = delete;
  MtaStsFetcher& operator=(const MtaStsFetcher&) = delete;

  // Owners (one per delivery agent) register before their first lookup and
  // unregister, on their reactor's thread, before the reactor goes: answers
  // for an unregistered owner are dropped, never posted.
  void register_owner(const void* owner);
  void unregister_owner(const void* owner);
  // `done` runs on `reactor`'s thread.
  void lookup(const void* owner, engine::Reactor& reactor, Request request, std::function<void(Answer)> done);

  // The worker's body, without threads (tests): the answer for `request` now.
  Answer lookup_now(const Request& request);

 private:
  struct Cached {
    std::string id;
    mta_sts::Policy policy;
    std::chrono::system_clock::time_point fetched;
  };
  void worker();
  std::optional<Cached> cached(const std::string& domain);  // memory, else the file
  void store(const std::string& domain, const Cached& c, const std::string& text);
  // The policy text, or null and `error`.
  std::optional<std::string> fetch(const Request& request, std::string* error) const;

  Options opt_;
  std::map<std::string, std::optional<Cached>> cache_;  // worker thread only
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::unordered_set<const void*> owners_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace ringmta::relay
