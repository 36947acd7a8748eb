// bench/send_run.cpp — `ringmta-bench send`: set-up, the run's main loop
// (progress line, limits, signals) and the report.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "bench/send.h"
#include "base/json.h"
#include "base/base64.h"
#include "bench/send_session.h"
#include "bench/util.h"
#include "engine/shard_group.h"

namespace ringmta::bench {

namespace {

const char* tls_name(TlsMode m) {
  switch (m) {
    case TlsMode::StartTls: return "starttls";
    case TlsMode::Implicit: return "implicit";
    default: return "none";
  }
}

struct Totals {
  uint64_t ok = 0, rejected = 0, lost = 0, bytes = 0, connections = 0, conn_failures = 0;
  unsigned sessions_done = 0;
};

Totals totals(const std::vector<std::unique_ptr<SendShard>>& shards) {
  Totals t;
  for (const auto& s : shards) {
    t.ok += s->ok.load(std::memory_order_relaxed);
    t.rejected += s->rejected.load(std::memory_order_relaxed);
    t.lost += s->lost.load(std::memory_order_relaxed);
    t.bytes += s->bytes.load(std::memory_order_relaxed);
    t.connections += s->connections.load(std::memory_order_relaxed);
    t.conn_failures += s->conn_failures.load(std::memory_order_relaxed);
    t.sessions_done += s->sessions_done.load(std::memory_order_relaxed);
  }
  return t;
}

double ms(int64_t ns) { return static_cast<double>(ns) / 1e6; }

void print_text(const SendConfig& cfg, const MessageSet& msgs, double elapsed, const Totals& t,
                const std::vector<Histogram>& hist, const std::vector<std::array<uint64_t, 600>>& codes,
                const std::string& first_error, bool limit_hit) {
  std::printf("ringmta-bench send -> %s: %u sessions on %u thread(s), %s, %u rcpt(s), pipelining %s, tls %s%s\n",
              cfg.target_text.c_str(), cfg.sessions, cfg.threads,
              msgs.generated ? (std::to_string(msgs.sizes[0]) + "-byte messages").c_str()
                             : (std::to_string(msgs.count()) + " message file(s)").c_str(),
              cfg.rcpts, cfg.pipelining ? "on" : "off", tls_name(cfg.tls), cfg.auth_user.empty() ? "" : ", AUTH PLAIN");
  std::printf("elapsed      %.3f s%s\n", elapsed, limit_hit ? "  (hard time limit reached)" : "");
  std::printf("messages     %s accepted, %s rejected, %s lost with a failed connection\n",
              group_digits(t.ok).c_str(), group_digits(t.rejected).c_str(), group_digits(t.lost).c_str());
  std::printf("rate         %s msgs/s, %.1f MB/s of message data\n",
              group_digits(static_cast<uint64_t>(t.ok / elapsed)).c_str(), t.bytes / elapsed / 1e6);
  std::printf("connections  %s opened, %s failed%s%s\n", group_digits(t.connections).c_str(),
              group_digits(t.conn_failures).c_str(), first_error.empty() ? "" : " (first: ",
              first_error.empty() ? "" : (first_error + ")").c_str());
  std::printf("replies     ");
  for (size_t c = 0; c < codes.size(); c++)
    for (int code = 0; code < 600; code++)
      if (codes[c][static_cast<size_t>(code)] != 0)
        std::printf(" %s %d:%s", cmd_name(static_cast<Cmd>(c)), code,
                    group_digits(codes[c][static_cast<size_t>(code)]).c_str());
  std::printf("\nlatency (ms)          count       p50       p90       p99     p99.9       max\n");
  for (size_t p = 0; p < hist.size(); p++) {
    const Histogram& h = hist[p];
    if (h.count() == 0) continue;
    std::printf("  %-14s %12s %9.3f %9.3f %9.3f %9.3f %9.3f\n", phase_name(static_cast<Phase>(p)),
                group_digits(h.count()).c_str(), ms(h.percentile(50)), ms(h.percentile(90)), ms(h.percentile(99)),
                ms(h.percentile(99.9)), ms(h.max()));
  }
}

void print_json(const SendConfig& cfg, const MessageSet& msgs, double elapsed, const Totals& t,
                const std::vector<Histogram>& hist, const std::vector<std::array<uint64_t, 600>>& codes,
                const std::string& first_error, bool limit_hit, bool too_many_failures) {
  std::string o = "{";
  auto num = [&](const char* k, double v, bool last = false) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.6g", v);
    o += base::json::quote(k) + ":" + buf + (last ? "" : ",");
  };
  auto integer = [&](const char* k, uint64_t v) { o += base::json::quote(k) + ":" + std::to_string(v) + ","; };
  o += "\"target\":" + base::json::quote(cfg.target_text) + ",";
  integer("sessions", cfg.sessions);
  integer("threads", cfg.threads);
  if (msgs.generated) integer("size", msgs.sizes[0]);
  integer("message_files", msgs.generated ? 0 : msgs.count());
  integer("rcpts", cfg.rcpts);
  o += std::string("\"pipelining\":") + (cfg.pipelining ? "true" : "false") + ",";
  o += std::string("\"tls\":\"") + tls_name(cfg.tls) + "\",";
  o += std::string("\"auth\":") + (cfg.auth_user.empty() ? "false" : "true") + ",";
  num("elapsed_s", elapsed);
  integer("messages_accepted", t.ok);
  integer("messages_rejected", t.rejected);
  integer("messages_lost", t.lost);
  integer("bytes_accepted", t.bytes);
  num("msgs_per_s", t.ok / elapsed);
  num("bytes_per_s", t.bytes / elapsed);
  integer("connections_opened", t.connections);
  integer("connection_failures", t.conn_failures);
  o += "\"first_error\":" + base::json::quote(first_error) + ",";
  o += std::string("\"time_limit_hit\":") + (limit_hit ? "true" : "false") + ",";
  o += std::string("\"too_many_failures\":") + (too_many_failures ? "true" : "false") + ",";
  o += "\"replies\":{";
  bool first_cmd = true;
  for (size_t c = 0; c < codes.size(); c++) {
    std::string inner;
    for (int code = 0; code < 600; code++)
      if (codes[c][static_cast<size_t>(code)] != 0)
        inner += (inner.empty() ? "" : ",") + base::json::quote(std::to_string(code)) + ":" +
                 std::to_string(codes[c][static_cast<size_t>(code)]);
    if (inner.empty()) continue;
    o += (first_cmd ? "" : ",") + base::json::quote(cmd_name(static_cast<Cmd>(c))) + ":{" + inner + "}";
    first_cmd = false;
  }
  o += "},\"latency_ms\":{";
  bool first_phase = true;
  for (size_t p = 0; p < hist.size(); p++) {
    const Histogram& h = hist[p];
    if (h.count() == 0) continue;
    o += (first_phase ? "" : ",") + base::json::quote(phase_name(static_cast<Phase>(p))) + ":{";
    first_phase = false;
    o += "\"count\":" + std::to_string(h.count()) + ",";
    num("mean", ms(static_cast<int64_t>(h.mean())));
    num("p50", ms(h.percentile(50)));
    num("p90", ms(h.percentile(90)));
    num("p99", ms(h.percentile(99)));
    num("p99.9", ms(h.percentile(99.9)));
    num("max", ms(h.max()), true);
    o += "}";
  }
  o += "}}";
  std::printf("%s\n", o.c_str());
}

}  // namespace

int run_send(const SendConfig& cfg_in) {
  SendConfig cfg = cfg_in;
  cfg.threads = std::clamp(cfg.threads, 1u, std::max(1u, cfg.sessions));
  std::string error;
  MessageSet msgs = cfg.message_path.empty()
                        ? generate_messages(cfg.size, cfg.sender, "user1@" + cfg.domains.front())
                        : load_messages(cfg.message_path, &error);
  if (msgs.count() == 0) {
    std::fprintf(stderr, "ringmta-bench send: %s\n", error.c_str());
    return 2;
  }

  SendGlobal g;
  g.config = &cfg;
  g.messages = &msgs;
  if (cfg.tls != TlsMode::None) {
    tls::ClientOptions opts;
    opts.verify = tls::Verify::None;  // load tests run against test certificates
    g.tls = tls::ClientContext::create(opts, &error);
    if (!g.tls) {
      std::fprintf(stderr, "ringmta-bench send: TLS: %s\n", error.c_str());
      return 2;
    }
  }
  if (!cfg.auth_user.empty()) {
    std::string plain;
    plain += '\0';
    plain += cfg.auth_user;
    plain += '\0';
    plain += cfg.auth_password;
    g.auth_line = "AUTH PLAIN " + base::base64_encode(plain) + "\r\n";
  }
  // Every run ends: the count or the duration, and in any case this limit.
  const double limit = cfg.time_limit > 0 ? cfg.time_limit : (cfg.duration > 0 ? cfg.duration + 60 : 600);

  // Ctrl-C / SIGTERM: first one ends the run gracefully (QUIT), a second aborts.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  std::vector<std::unique_ptr<SendShard>> shards;  // outlive the reactors (handlers point into them)
  for (unsigned i = 0; i < cfg.threads; i++) shards.push_back(std::make_unique<SendShard>(g, i));
  const bool tty = cfg.progress && isatty(STDERR_FILENO);
  bool limit_hit = false;
  int64_t end_ns = 0;
  {
    engine::ShardGroup group(cfg.threads);
    g.start_ns = now_ns();
    if (cfg.duration > 0) g.deadline_ns = g.start_ns + static_cast<int64_t>(cfg.duration * 1e9);
    const int64_t hard_ns = g.start_ns + static_cast<int64_t>(limit * 1e9);
    int rc = group.start([&](engine::Reactor& r) {
      const unsigned i = r.shard_id();
      const unsigned n = cfg.sessions / cfg.threads + (i < cfg.sessions % cfg.threads ? 1 : 0);
      shards[i]->start(r, n);
      return 0;
    });
    if (rc != 0) {
      std::fprintf(stderr, "ringmta-bench send: cannot start threads: %s\n", std::strerror(rc));
      return 2;
    }
    int64_t next_draw = 0, abort_at = 0;
    uint64_t last_ok = 0;
    int64_t last_t = g.start_ns;
    int signals = 0;
    for (;;) {
      timespec ts{0, 50 * 1000 * 1000};
      if (sigtimedwait(&sigs, nullptr, &ts) > 0) {
        if (++signals == 1) {
          g.stop = true;
        } else {
          g.abort = true;
          abort_at = now_ns();
        }
      }
      const int64_t now = now_ns();
      const Totals t = totals(shards);
      if (t.sessions_done >= cfg.sessions) break;
      if (now >= hard_ns && !limit_hit) {
        limit_hit = true;
        g.stop = true;
        g.abort = true;
        abort_at = now;
      }
      // Aborted connections report back at the next tick; do not wait for ever.
      if (abort_at != 0 && now - abort_at > 2'000'000'000) break;
      if (tty && now >= next_draw) {
        const double rate = (t.ok - last_ok) / ((now - last_t) / 1e9);
        std::fprintf(stderr, "\r\033[K%7.1fs  %s accepted  %s/s  %s rejected  %s lost  %s conn failures",
                     (now - g.start_ns) / 1e9, group_digits(t.ok).c_str(),
                     group_digits(static_cast<uint64_t>(rate)).c_str(), group_digits(t.rejected).c_str(),
                     group_digits(t.lost).c_str(), group_digits(t.conn_failures).c_str());
        last_ok = t.ok;
        last_t = now;
        next_draw = now + 500'000'000;
      }
    }
    end_ns = now_ns();
    if (tty) std::fprintf(stderr, "\r\033[K");
    g.stop = true;  // closures from the reactors' teardown are not failures
    group.stop_and_join();
  }
  pthread_sigmask(SIG_UNBLOCK, &sigs, nullptr);

  const double elapsed = std::max(1e-9, (end_ns - g.start_ns) / 1e9);
  const Totals t = totals(shards);
  std::vector<Histogram> hist(static_cast<size_t>(Phase::Count));
  std::vector<std::array<uint64_t, 600>> codes(static_cast<size_t>(Cmd::Count));
  std::string first_error;
  for (const auto& s : shards) {
    for (size_t p = 0; p < hist.size(); p++) hist[p].merge(s->histogram(static_cast<Phase>(p)));
    for (size_t c = 0; c < codes.size(); c++)
      for (size_t k = 0; k < 600; k++) codes[c][k] += s->codes()[c][k];
    if (first_error.empty()) first_error = s->first_error;
  }
  const bool too_many = g.too_many_failures.load();
  if (cfg.json)
    print_json(cfg, msgs, elapsed, t, hist, codes, first_error, limit_hit, too_many);
  else
    print_text(cfg, msgs, elapsed, t, hist, codes, first_error, limit_hit);
  std::fflush(stdout);
  if (too_many)
    std::fprintf(stderr, "ringmta-bench send: %s connection failure(s), more than --max-failures %llu: run stopped\n",
                 group_digits(t.conn_failures).c_str(), static_cast<unsigned long long>(cfg.max_failures));
  if (limit_hit) std::fprintf(stderr, "ringmta-bench send: hard time limit of %.0f s reached\n", limit);
  return too_many || limit_hit ? 1 : 0;
}

}  // namespace ringmta::bench
