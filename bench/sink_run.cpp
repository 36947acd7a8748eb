// bench/sink_run.cpp — `ringmta-bench sink`: listeners on N shards, the main
// thread's loop (signals, --duration, periodic report, --record flushing) and
// the final report.
#include <signal.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <vector>

#include "bench/sink.h"
#include "base/json.h"
#include "bench/sink_conn.h"
#include "bench/util.h"
#include "engine/shard_group.h"

namespace ringmta::bench {

namespace {

struct SinkTotals {
  uint64_t connections = 0, refused = 0, messages = 0, recipients = 0, bytes = 0;
  uint64_t rcpt_temp = 0, rcpt_perm = 0, data_temp = 0, data_perm = 0, tls = 0, tls_failures = 0, auths = 0;
  int64_t first_ns = 0, last_ns = 0;
};

SinkTotals totals(const std::vector<std::unique_ptr<SinkShard>>& shards) {
  SinkTotals t;
  for (const auto& s : shards) {
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    t.connections += get(s->connections);
    t.refused += get(s->refused);
    t.messages += get(s->messages);
    t.recipients += get(s->recipients);
    t.bytes += get(s->bytes);
    t.rcpt_temp += get(s->rcpt_temp);
    t.rcpt_perm += get(s->rcpt_perm);
    t.data_temp += get(s->data_temp);
    t.data_perm += get(s->data_perm);
    t.tls += get(s->tls_sessions);
    t.tls_failures += get(s->tls_failures);
    t.auths += get(s->auths);
    const int64_t f = s->first_msg_ns.load(std::memory_order_relaxed);
    const int64_t l = s->last_msg_ns.load(std::memory_order_relaxed);
    if (f != 0 && (t.first_ns == 0 || f < t.first_ns)) t.first_ns = f;
    if (l > t.last_ns) t.last_ns = l;
  }
  return t;
}

// Messages/s between the first and the last arrival: the rate the sender
// achieved, without the idle time before and after the load.
double active_rate(const SinkTotals& t) {
  if (t.messages < 2 || t.last_ns <= t.first_ns) return 0;
  return static_cast<double>(t.messages - 1) / ((t.last_ns - t.first_ns) / 1e9);
}

}  // namespace

int run_sink(const SinkConfig& cfg_in) {
  SinkConfig cfg = cfg_in;
  if (cfg.threads == 0) cfg.threads = 1;
  SinkGlobal g;
  g.config = &cfg;
  if (!cfg.tls_cert.empty()) {
    tls::ServerOptions opts;
    opts.default_certificate.certificate = cfg.tls_cert;
    opts.default_certificate.private_key = cfg.tls_key;
    std::string error;
    g.tls = tls::ServerContext::create(opts, &error);
    if (!g.tls) {
      std::fprintf(stderr, "ringmta-bench sink: TLS: %s\n", error.c_str());
      return 2;
    }
  }
  std::FILE* record = nullptr;
  if (!cfg.record_path.empty()) {
    record = std::fopen(cfg.record_path.c_str(), "w");
    if (record == nullptr) {
      std::fprintf(stderr, "ringmta-bench sink: %s: %s\n", cfg.record_path.c_str(), std::strerror(errno));
      return 2;
    }
  }

  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  const uint64_t seed = cfg.seed != 0 ? cfg.seed : static_cast<uint64_t>(now_ns());
  std::vector<std::unique_ptr<SinkShard>> shards;  // outlive the reactors
  for (unsigned i = 0; i < cfg.threads; i++)
    shards.push_back(std::make_unique<SinkShard>(g, i, seed + 0x9e3779b97f4a7c15ULL * (i + 1)));

  const int64_t start = now_ns();
  SinkTotals t;
  int64_t stop_ns = 0;
  {
    engine::ShardGroup group(cfg.threads);
    int rc = group.start([&](engine::Reactor& r) {
      SinkShard* shard = shards[r.shard_id()].get();
      shard->reactor = &r;
      engine::ListenerSpec spec;
      spec.address = cfg.listen;
      spec.backlog = 4096;
      spec.factory = [shard](engine::Connection& c) { return shard->accept(c); };
      return r.add_listener(spec);
    });
    if (rc != 0) {
      std::fprintf(stderr, "ringmta-bench sink: cannot listen on %s: %s\n", cfg.listen_text.c_str(),
                   std::strerror(rc));
      if (record) std::fclose(record);
      return 1;
    }
    char until[64] = ", until SIGINT/SIGTERM";
    if (cfg.duration > 0) std::snprintf(until, sizeof(until), ", for %g s", cfg.duration);
    std::fprintf(stderr, "ringmta-bench sink: listening on %s (%u thread(s)%s%s)\n", cfg.listen_text.c_str(),
                 cfg.threads, g.tls ? (cfg.implicit_tls ? ", implicit TLS" : ", STARTTLS") : "", until);
    const int64_t end = cfg.duration > 0 ? start + static_cast<int64_t>(cfg.duration * 1e9) : 0;
    int64_t next_report = cfg.report_interval > 0 ? start + static_cast<int64_t>(cfg.report_interval * 1e9) : 0;
    uint64_t last_msgs = 0;
    int64_t last_t = start;
    for (;;) {
      timespec ts{0, 100 * 1000 * 1000};
      const int sig = sigtimedwait(&sigs, nullptr, &ts);
      const int64_t now = now_ns();
      if (record) {
        for (auto& s : shards) {
          const std::string lines = s->take_records();
          if (!lines.empty()) std::fwrite(lines.data(), 1, lines.size(), record);
        }
        std::fflush(record);
      }
      if (sig > 0 || (end != 0 && now >= end)) break;
      if (next_report != 0 && now >= next_report) {
        const SinkTotals c = totals(shards);
        std::fprintf(stderr, "sink %7.1fs: %s msgs (%s/s now), %s rcpts, %lld conns (peak %lld), %s refused\n",
                     (now - start) / 1e9, group_digits(c.messages).c_str(),
                     group_digits(static_cast<uint64_t>((c.messages - last_msgs) / ((now - last_t) / 1e9))).c_str(),
                     group_digits(c.recipients).c_str(), static_cast<long long>(g.current.load()),
                     static_cast<long long>(g.peak.load()), group_digits(c.refused).c_str());
        last_msgs = c.messages;
        last_t = now;
        next_report = now + static_cast<int64_t>(cfg.report_interval * 1e9);
      }
    }
    stop_ns = now_ns();
    group.stop_and_join();
  }
  pthread_sigmask(SIG_UNBLOCK, &sigs, nullptr);
  t = totals(shards);
  if (record) {
    for (auto& s : shards) {
      const std::string lines = s->take_records();
      std::fwrite(lines.data(), 1, lines.size(), record);
    }
    std::fclose(record);
  }
  const double elapsed = (stop_ns - start) / 1e9;
  const double active = active_rate(t);
  if (cfg.json) {
    char buf[1536];
    std::snprintf(
        buf, sizeof(buf),
        "{\"listen\":%s,\"elapsed_s\":%.3f,\"connections\":%llu,\"peak_connections\":%lld,\"refused\":%llu,"
        "\"messages\":%llu,\"recipients\":%llu,\"bytes\":%llu,\"rcpt_temp_fail\":%llu,\"rcpt_perm_fail\":%llu,"
        "\"data_temp_fail\":%llu,\"data_perm_fail\":%llu,\"tls_sessions\":%llu,\"tls_failures\":%llu,"
        "\"auths\":%llu,\"msgs_per_s_active\":%.1f,\"msgs_per_s_overall\":%.1f,\"active_s\":%.3f}\n",
        base::json::quote(cfg.listen_text).c_str(), elapsed, (unsigned long long)t.connections,
        (long long)g.peak.load(), (unsigned long long)t.refused, (unsigned long long)t.messages,
        (unsigned long long)t.recipients, (unsigned long long)t.bytes, (unsigned long long)t.rcpt_temp,
        (unsigned long long)t.rcpt_perm, (unsigned long long)t.data_temp, (unsigned long long)t.data_perm,
        (unsigned long long)t.tls, (unsigned long long)t.tls_failures, (unsigned long long)t.auths, active,
        elapsed > 0 ? t.messages / elapsed : 0.0, t.last_ns > t.first_ns ? (t.last_ns - t.first_ns) / 1e9 : 0.0);
    std::fputs(buf, stdout);
  } else {
    std::printf("ringmta-bench sink on %s: %.1f s\n", cfg.listen_text.c_str(), elapsed);
    std::printf("messages     %s accepted (%s recipients, %.1f MB)\n", group_digits(t.messages).c_str(),
                group_digits(t.recipients).c_str(), t.bytes / 1e6);
    std::printf("rate         %s msgs/s from first to last arrival (%s msgs/s over the whole run)\n",
                group_digits(static_cast<uint64_t>(active)).c_str(),
                group_digits(static_cast<uint64_t>(elapsed > 0 ? t.messages / elapsed : 0)).c_str());
    std::printf("connections  %s, peak %lld concurrent, %s refused (injected)\n", group_digits(t.connections).c_str(),
                static_cast<long long>(g.peak.load()), group_digits(t.refused).c_str());
    std::printf("injected     RCPT 4xx %s, RCPT 5xx %s, DATA 4xx %s, DATA 5xx %s\n", group_digits(t.rcpt_temp).c_str(),
                group_digits(t.rcpt_perm).c_str(), group_digits(t.data_temp).c_str(),
                group_digits(t.data_perm).c_str());
    if (g.tls) std::printf("tls          %s sessions, %s failed handshakes\n", group_digits(t.tls).c_str(),
                           group_digits(t.tls_failures).c_str());
  }
  return 0;
}

}  // namespace ringmta::bench
