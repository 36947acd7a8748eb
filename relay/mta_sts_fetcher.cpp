// relay/mta_sts_fetcher.cpp — see mta_sts_fetcher.h. Everything below
// lookup() runs on the worker thread (blocking HTTPS and file I/O).
#include "relay/mta_sts_fetcher.h"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringmta::relay {
namespace {

constexpr const char* kCacheMagic = "ringmta-mta-sts 1";

struct Body {
  std::string text;
  bool too_big = false;
};

size_t write_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<Body*>(user);
  const size_t len = size * n;
  if (body->text.size() + len > mta_sts::kMaxPolicySize) {
    body->too_big = true;
    return 0;  // aborts the transfer (CURLE_WRITE_ERROR)
  }
  body->text.append(data, len);
  return len;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

MtaStsFetcher::MtaStsFetcher(Options options) : opt_(std::move(options)) {
  global_init();
  thread_ = std::thread([this] { worker(); });
}

MtaStsFetcher::~MtaStsFetcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  thread_.join();
}

void MtaStsFetcher::register_owner(const void* owner) {
  std::lock_guard lock(mu_);
  owners_.insert(owner);
}

void MtaStsFetcher::unregister_owner(const void* owner) {
  std::lock_guard lock(mu_);
  owners_.erase(owner);
}

void MtaStsFetcher::lookup(const void* owner, engine::Reactor& reactor, Request request,
                           std::function<void(Answer)> done) {
  std::unique_lock lock(mu_);
  if (stopping_) return;
  queue_.push_back([this, owner, &reactor, request = std::move(request), done = std::move(done)]() mutable {
    Answer a = lookup_now(request);
    // Posting under the lock: unregister_owner() cannot slip in between
    // the check and the post, so a gone shard's reactor is never touched.
    std::lock_guard lock(mu_);
    if (owners_.count(owner))
      reactor.post([done = std::move(done), a = std::move(a)]() mutable { done(std::move(a)); });
  });
  lock.unlock();
  cv_.notify_one();
}

void MtaStsFetcher::worker() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

MtaStsFetcher::Answer MtaStsFetcher::lookup_now(const Request& r) {
  Answer a;
  const auto now = std::chrono::system_clock::now();
  std::optional<Cached> c = cached(r.domain);
  const bool fresh = c && now < c->fetched + std::chrono::seconds(c->policy.max_age);
  auto use_cache = [&](std::string note) {
    a.policy = c->policy;
    a.id = c->id;
    a.note = std::move(note);
    return a;
  };
  if (!r.txt_id) {
    // No TXT record: a cached policy still holds until it expires (§5.1).
    if (fresh) return use_cache("cached; no TXT record");
    a.note = "no STSv1 TXT record";
    return a;
  }
  if (fresh && c->id == *r.txt_id) return use_cache("cached");
  std::string why;
  std::optional<std::string> text = fetch(r, &why);
  std::optional<mta_sts::Policy> p;
  if (text) {
    p = mta_sts::parse_policy(*text, &why);
    if (!p) why = "invalid policy: " + why;
  }
  if (!p) {
    spdlog::warn("mta-sts: {}: cannot get the policy: {}", r.domain, why);
    if (fresh) return use_cache("cached; refresh failed: " + why);
    a.note = why;
    return a;
  }
  Cached fresh_entry{*r.txt_id, *p, now};
  store(r.domain, fresh_entry, *text);
  spdlog::info("mta-sts: {}: policy id {} mode {} max_age {} ({} mx patterns)", r.domain, *r.txt_id,
               mta_sts::to_string(p->mode), p->max_age, p->mx.size());
  a.policy = std::move(p);
  a.id = *r.txt_id;
  a.note = "fetched";
  return a;
}

std::optional<MtaStsFetcher::Cached> MtaStsFetcher::cached(const std::string& domain) {
  if (auto it = cache_.find(domain); it != cache_.end()) return it->second;
  std::optional<Cached> out;
  if (!opt_.cache_dir.empty() && domain.find('/') == std::string::npos) {
    std::ifstream in(std::filesystem::path(opt_.cache_dir) / domain, std::ios::binary);
    std::string magic, id, when;
    if (in && std::getline(in, magic) && magic == kCacheMagic && std::getline(in, id) && std::getline(in, when)) {
      std::stringstream rest;
      rest << in.rdbuf();
      std::string why;
      char* end = nullptr;
      const long long secs = std::strtoll(when.c_str(), &end, 10);
      if (auto p = mta_sts::parse_policy(rest.str(), &why); p && end && *end == '\0')
        out = Cached{id, *p, std::chrono::system_clock::time_point(std::chrono::seconds(secs))};
    }
  }
  cache_[domain] = out;
  return out;
}

void MtaStsFetcher::store(const std::string& domain, const Cached& c, const std::string& text) {
  cache_[domain] = c;
  if (opt_.cache_dir.empty() || domain.find('/') != std::string::npos) return;
  std::error_code ec;
  std::filesystem::create_directories(opt_.cache_dir, ec);
  const auto path = std::filesystem::path(opt_.cache_dir) / domain;
  const auto tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kCacheMagic << '\n' << c.id << '\n'
        << std::chrono::duration_cast<std::chrono::seconds>(c.fetched.time_since_epoch()).count() << '\n' << text;
    if (!out) {
      spdlog::warn("mta-sts: cannot write {}", tmp);
      return;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) spdlog::warn("mta-sts: cannot rename {}: {}", tmp, ec.message());
}

std::optional<std::string> MtaStsFetcher::fetch(const Request& r, std::string* error) const {
  if (r.addresses.empty()) {
    *error = "mta-sts." + r.domain + " has no address";
    return std::nullopt;
  }
  const std::string host = "mta-sts." + r.domain;
  const std::string port = std::to_string(opt_.port);
  std::string resolve = host + ":" + port + ":";
  for (size_t i = 0; i < r.addresses.size(); ++i) {
    const std::string& ip = r.addresses[i];
    resolve += (i ? "," : "") + (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip);
  }
  const std::string url = "https://" + host + (opt_.port == 443 ? "" : ":" + port) + "/.well-known/mta-sts.txt";
  CURL* h = curl_easy_init();
  if (!h) {
    *error = "curl_easy_init failed";
    return std::nullopt;
  }
  curl_slist* resolves = curl_slist_append(nullptr, resolve.c_str());
  Body body;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_RESOLVE, resolves);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);  // RFC 8461 §3.3: no redirects
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(opt_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt_.timeout.count()));
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!opt_.ca_file.empty()) {
    // The file adds to the system store, as for delivery.tls_ca_file elsewhere.
    curl_easy_setopt(h, CURLOPT_CAINFO, opt_.ca_file.c_str());
    curl_easy_setopt(h, CURLOPT_CAPATH, "/etc/ssl/certs");
  }
  curl_easy_setopt(h, CURLOPT_USERAGENT, "ringmta");
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &write_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  char* ctype = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
  const std::string content_type = ctype ? ctype : "";
  curl_easy_cleanup(h);
  curl_slist_free_all(resolves);
  if (body.too_big) {
    *error = url + ": policy larger than 64 KiB";
    return std::nullopt;
  }
  if (rc != CURLE_OK) {
    *error = url + ": " + (errbuf[0] ? errbuf : curl_easy_strerror(rc));
    return std::nullopt;
  }
  if (status != 200) {
    *error = url + ": HTTP status " + std::to_string(status);
    return std::nullopt;
  }
  if (content_type.rfind("text/plain", 0) != 0) {  // §3.3: media type text/plain
    *error = url + ": content type \"" + content_type + "\", not text/plain";
    return std::nullopt;
  }
  return std::move(body.text);
}

}  // namespace ringmta::relay
