// bench/imap_run.cpp — `ringmta-bench imap`: the epoll loop over every
// session, the phase barriers, the idle-latency delivery thread and the
// report (text or --json). See imap.h for the modes.
//
// Phases: Setup (connect + login + select, at most --connect-concurrency
// sessions at a time) -> all ready -> the mode's measured phase(s) started
// for every session at once -> Drain (LOGOUT). The loop ends when every
// session finished or failed, on SIGINT/SIGTERM (in idle mode: ends the hold
// early, gracefully) or at --time-limit (exit code 1).
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "base/json.h"
#include "bench/imap_session.h"
#include "bench/util.h"

namespace ringmta::bench {
namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

const char* mode_name(ImapMode m) {
  switch (m) {
    case ImapMode::Idle: return "idle";
    case ImapMode::Fetch: return "fetch";
    case ImapMode::Append: return "append";
    case ImapMode::IdleLatency: return "idle-latency";
  }
  return "?";
}

// A message of exactly `size` bytes (at least its header block) with a
// 16-hex-digit placeholder in its Message-ID; returns the placeholder offset.
size_t make_template(uint64_t size, const std::string& to, std::string& out) {
  out = "From: <bench@ringmta-bench.test>\r\nTo: <" + to + ">\r\nSubject: ringmta-bench append\r\n" +
        "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMessage-ID: <";
  const size_t pos = out.size();
  out += std::string(16, '0') + "@ringmta-bench.test>\r\n\r\n";
  while (out.size() + 2 < size) {
    const size_t line = std::min<size_t>(76, size - out.size() - 2);
    out += std::string(line, 'a' + static_cast<char>(out.size() % 26)) + "\r\n";
  }
  if (out.size() < size) out += std::string(size - out.size(), 'z');  // 1 byte short of a line
  return pos;
}

struct Delivery {
  std::vector<int64_t> done_at;  // per probe: now_ns() after the final reply (-1: not delivered)
  Histogram took;
  std::string error;
  std::atomic<bool> finished{false}, stop{false};
};

void deliver_loop(const ImapConfig& cfg, ImapShared& sh, std::vector<unsigned> idlers, Delivery& d) {
  Deliverer del{cfg.smtp, cfg.lmtp, cfg.deliver_cmd, {}};
  for (unsigned i = 0; i < std::min(cfg.sessions, cfg.users); i++) {  // every distinct user once
    std::string u = cfg.user;
    if (const size_t p = u.find("%d"); p != std::string::npos) u.replace(p, 2, std::to_string(i));
    if (u.find('@') == std::string::npos && !cfg.rcpt_domain.empty()) u += "@" + cfg.rcpt_domain;
    del.recipients.push_back(u);
  }
  for (uint64_t k = 1; k <= cfg.messages && !d.stop; k++) {
    const int64_t t0 = now_ns();
    d.error = del.deliver(k, 30);
    if (!d.error.empty()) break;
    d.done_at[k - 1] = now_ns();
    d.took.record(d.done_at[k - 1] - t0);
    // Wait (bounded) until every idler has seen probe k, so that probes never overlap.
    const int64_t until = now_ns() + static_cast<int64_t>(cfg.notify_timeout * 1e9);
    while (!d.stop && now_ns() < until) {
      size_t n = 0;
      for (unsigned s : idlers) n += sh.seen[s].load(std::memory_order_acquire) >= k;
      if (n == idlers.size()) break;
      usleep(200);
    }
    usleep(static_cast<useconds_t>(cfg.interval * 1e6));
  }
  d.finished = true;
}

void ms(std::string& o, const char* k, const Histogram& h, bool last = false) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "\"%s\":{\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f,\"mean\":%.3f}%s",
                k, static_cast<unsigned long long>(h.count()), h.percentile(50) / 1e6, h.percentile(90) / 1e6,
                h.percentile(99) / 1e6, h.max() / 1e6, h.mean() / 1e6, last ? "" : ",");
  o += buf;
}

void integer(std::string& o, const char* k, uint64_t v) {
  o += std::string("\"") + k + "\":" + std::to_string(v) + ",";
}

void num(std::string& o, const char* k, double v) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "\"%s\":%.6g,", k, v);
  o += buf;
}

}  // namespace

int run_imap(const ImapConfig& cfg) {
  rlimit rl{};  // 10,000 sessions need more descriptors than the usual soft limit
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(nullptr, SSL_CTX_free);
  if (cfg.tls) {
    ctx.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx) return std::fprintf(stderr, "ringmta-bench imap: SSL_CTX_new failed\n"), 2;
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);  // loopback bench servers, self-signed
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  }
  ImapShared sh;
  sh.cfg = &cfg;
  sh.ctx = ctx.get();
  if (cfg.mode == ImapMode::Append) sh.append_id_pos = make_template(cfg.size, cfg.user, sh.append_template);
  Delivery del;
  if (cfg.mode == ImapMode::IdleLatency) {
    sh.seen = std::make_unique<std::atomic<uint32_t>[]>(cfg.sessions);
    sh.arrivals.assign(cfg.sessions, std::vector<int64_t>(cfg.messages, -1));
    del.done_at.assign(cfg.messages, -1);
  }
  std::vector<std::unique_ptr<ImapSession>> ss;
  for (unsigned i = 0; i < cfg.sessions; i++) ss.push_back(std::make_unique<ImapSession>(sh, i));

  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return std::perror("epoll_create1"), 2;
  auto sync = [&](unsigned i) {
    ImapConn& c = ss[i]->conn();
    if (!c.open()) return;
    const uint32_t want = c.wanted_events();
    if (want == c.registered) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u32 = i;
    epoll_ctl(ep, c.registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c.fd(), &ev);
    c.registered = want;
  };
  auto all = [&](void (ImapSession::*f)()) {
    for (unsigned i = 0; i < cfg.sessions; i++) {
      ((*ss[i]).*f)();
      sync(i);
    }
  };

  enum class Phase { Setup, Hold, Deliver, Meta, Body, Append, Drain } phase = Phase::Setup;
  const int64_t t0 = now_ns(), deadline = t0 + static_cast<int64_t>(cfg.time_limit * 1e9);
  int64_t phase_t0 = 0, hold_end = 0, meta_ns = 0, body_ns = 0, append_ns = 0, held_ns = 0, last_check = t0;
  unsigned next_start = 0, idle_at_release = 0;
  bool limit_hit = false, interrupted = false;
  std::vector<unsigned> idlers;
  std::thread deliverer;
  epoll_event evs[512];
  // Bounded: every pass either makes progress or waits <= 50 ms, and the deadline ends it.
  while (true) {
    const int64_t now = now_ns();
    if (now > deadline) {
      limit_hit = true;
      break;
    }
    // In idle mode the signal only ends the hold: the sessions then log out normally.
    if (g_stop && phase != Phase::Hold && !(cfg.mode == ImapMode::Idle && phase == Phase::Drain)) {
      interrupted = true;
      break;
    }
    while (next_start < cfg.sessions && sh.started - sh.ready - sh.failed_setup < cfg.connect_concurrency) {
      const unsigned i = next_start++;
      if (ss[i]->start()) sync(i);
    }
    if (phase == Phase::Setup && sh.started == cfg.sessions && sh.ready + sh.failed_setup == cfg.sessions) {
      phase_t0 = now;
      if (cfg.mode == ImapMode::Idle || cfg.mode == ImapMode::IdleLatency) {
        idle_at_release = sh.idling;
        std::fprintf(stderr, "ready: %u sessions in IDLE\n", sh.idling);
        std::fflush(stderr);
      }
      if (cfg.mode == ImapMode::Idle) {
        phase = Phase::Hold;
        hold_end = now + static_cast<int64_t>(cfg.hold * 1e9);
      } else if (cfg.mode == ImapMode::IdleLatency) {
        phase = Phase::Deliver;
        for (unsigned i = 0; i < cfg.sessions; i++)
          if (ss[i]->step() == ImapSession::Step::Idling) idlers.push_back(i);
        deliverer = std::thread(deliver_loop, std::cref(cfg), std::ref(sh), idlers, std::ref(del));
      } else if (cfg.mode == ImapMode::Fetch) {
        phase = Phase::Meta;
        all(&ImapSession::begin_meta);
      } else {
        phase = Phase::Append;
        all(&ImapSession::begin_append);
      }
    } else if ((phase == Phase::Hold && (now >= hold_end || g_stop)) ||
               (phase == Phase::Deliver && del.finished)) {
      held_ns = now - phase_t0;
      phase = Phase::Drain;
      all(&ImapSession::end_idle);
    } else if (phase == Phase::Meta && sh.busy == 0) {
      meta_ns = now - phase_t0;
      phase_t0 = now;
      phase = cfg.no_body ? Phase::Drain : Phase::Body;
      all(cfg.no_body ? &ImapSession::end_fetch : &ImapSession::begin_body);
    } else if ((phase == Phase::Body || phase == Phase::Append) && sh.busy == 0) {
      (phase == Phase::Body ? body_ns : append_ns) = now - phase_t0;
      phase = Phase::Drain;
    }
    if (phase != Phase::Setup && sh.finished + sh.failed == cfg.sessions && phase != Phase::Deliver) break;
    const int n = epoll_wait(ep, evs, 512, 50);
    for (int e = 0; e < n; e++) {
      const unsigned i = evs[e].data.u32;
      ss[i]->on_event();
      sync(i);
    }
    if (now - last_check > 1000000000) {  // reply timeouts, once a second
      last_check = now;
      for (unsigned i = 0; i < cfg.sessions; i++) ss[i]->check_timeout(now, static_cast<int64_t>(cfg.reply_timeout * 1e9));
    }
  }
  const double elapsed = (now_ns() - t0) / 1e9;
  del.stop = true;
  if (deliverer.joinable()) deliverer.join();
  ss.clear();  // closes what is still open
  close(ep);

  // idle-latency: from each probe's final delivery reply to each idler's EXISTS.
  Histogram notify;
  uint64_t missed = 0, early = 0, probes = 0;
  for (size_t k = 0; k < del.done_at.size(); k++) {
    if (del.done_at[k] < 0) continue;
    probes++;
    for (unsigned s : idlers) {
      const int64_t a = sh.arrivals[s][k];
      if (a < 0) {
        missed++;
      } else {
        early += a < del.done_at[k];  // notified before the delivery's reply was read
        notify.record(std::max<int64_t>(0, a - del.done_at[k]));
      }
    }
  }
  const bool ok = !limit_hit && !interrupted && sh.failed <= cfg.max_failures && sh.mismatches == 0 &&
                  del.error.empty() && missed == 0;
  const double meta_s = meta_ns / 1e9, body_s = body_ns / 1e9, append_s = append_ns / 1e9;
  std::string first_error = sh.first_error.empty() ? del.error : sh.first_error;
  if (cfg.json) {
    std::string o = "{\"mode\":" + base::json::quote(mode_name(cfg.mode)) + ",\"target\":" +
                    base::json::quote(cfg.target_text) + ",\"tls\":" + (cfg.tls ? "true" : "false") + ",";
    integer(o, "sessions", cfg.sessions);
    integer(o, "sessions_ready", sh.ready);
    integer(o, "failures", sh.failed);
    num(o, "elapsed_s", elapsed);
    o += std::string("\"ok\":") + (ok ? "true" : "false") + ",\"time_limit_hit\":" + (limit_hit ? "true" : "false") +
         ",\"first_error\":" + base::json::quote(first_error) + ",";
    if (cfg.mode == ImapMode::Idle || cfg.mode == ImapMode::IdleLatency) {
      integer(o, "idle_reached", idle_at_release);
      integer(o, "idle_peak", sh.peak_idling);
      num(o, "held_s", held_ns / 1e9);
    }
    if (cfg.mode == ImapMode::Fetch) {
      integer(o, "expected_messages", sh.expected);
      integer(o, "mismatches", sh.mismatches);
      o += "\"meta\":{";
      integer(o, "messages", sh.meta_msgs);
      num(o, "seconds", meta_s);
      num(o, "msgs_per_s", meta_s > 0 ? sh.meta_msgs / meta_s : 0);
      ms(o, "latency_ms", sh.meta_latency, true);
      o += "},\"body\":{";
      integer(o, "messages", sh.body_msgs);
      integer(o, "bytes", sh.body_bytes);
      num(o, "seconds", body_s);
      num(o, "msgs_per_s", body_s > 0 ? sh.body_msgs / body_s : 0);
      num(o, "mib_per_s", body_s > 0 ? sh.body_bytes / body_s / 1048576.0 : 0);
      ms(o, "batch_latency_ms", sh.body_latency, true);
      o += "},";
    }
    if (cfg.mode == ImapMode::Append) {
      integer(o, "appends", sh.append_done);
      integer(o, "bytes", sh.append_bytes);
      num(o, "seconds", append_s);
      num(o, "appends_per_s", append_s > 0 ? sh.append_done / append_s : 0);
      o += std::string("\"literal_plus\":") + (sh.literal_plus_used ? "true" : "false") + ",";
      ms(o, "latency_ms", sh.append_latency);
    }
    if (cfg.mode == ImapMode::IdleLatency) {
      integer(o, "probes", probes);
      num(o, "notifications", static_cast<double>(notify.count()));
      integer(o, "missed", missed);
      integer(o, "before_reply", early);
      ms(o, "delivery_ms", del.took);
      ms(o, "notify_ms", notify);
    }
    o.back() = '}';
    std::printf("%s\n", o.c_str());
  } else {
    std::printf("ringmta-bench imap %s -> %s%s: %u sessions, %u ready, %u failed, %.2f s%s\n", mode_name(cfg.mode),
                cfg.target_text.c_str(), cfg.tls ? " (TLS)" : "", cfg.sessions, sh.ready, sh.failed, elapsed,
                limit_hit ? " (time limit reached)" : "");
    if (cfg.mode == ImapMode::Idle || cfg.mode == ImapMode::IdleLatency)
      std::printf("idle         %u reached IDLE, held %.1f s\n", idle_at_release, held_ns / 1e9);
    if (cfg.mode == ImapMode::Fetch) {
      std::printf("meta fetch   %llu of %llu messages in %.3f s: %.0f msgs/s\n",
                  static_cast<unsigned long long>(sh.meta_msgs), static_cast<unsigned long long>(sh.expected), meta_s,
                  meta_s > 0 ? sh.meta_msgs / meta_s : 0);
      std::printf("body fetch   %llu messages, %.1f MiB in %.3f s: %.0f msgs/s, %.1f MiB/s; batch p50 %.2f ms p99 %.2f ms\n",
                  static_cast<unsigned long long>(sh.body_msgs), sh.body_bytes / 1048576.0, body_s,
                  body_s > 0 ? sh.body_msgs / body_s : 0, body_s > 0 ? sh.body_bytes / body_s / 1048576.0 : 0,
                  sh.body_latency.percentile(50) / 1e6, sh.body_latency.percentile(99) / 1e6);
    }
    if (cfg.mode == ImapMode::Append)
      std::printf("append       %llu in %.3f s: %.0f appends/s (%s); p50 %.2f ms p99 %.2f ms\n",
                  static_cast<unsigned long long>(sh.append_done), append_s, append_s > 0 ? sh.append_done / append_s : 0,
                  sh.literal_plus_used ? "LITERAL+" : "synchronising literals", sh.append_latency.percentile(50) / 1e6,
                  sh.append_latency.percentile(99) / 1e6);
    if (cfg.mode == ImapMode::IdleLatency)
      std::printf("notify       %llu probes, %llu EXISTS seen, %llu missed: p50 %.2f ms p99 %.2f ms max %.2f ms\n",
                  static_cast<unsigned long long>(probes), static_cast<unsigned long long>(notify.count()),
                  static_cast<unsigned long long>(missed), notify.percentile(50) / 1e6, notify.percentile(99) / 1e6,
                  notify.max() / 1e6);
  }
  if (!first_error.empty()) std::fprintf(stderr, "ringmta-bench imap: first error: %s\n", first_error.c_str());
  if (interrupted) std::fprintf(stderr, "ringmta-bench imap: interrupted\n");
  if (limit_hit) std::fprintf(stderr, "ringmta-bench imap: hard time limit of %.0f s reached\n", cfg.time_limit);
  return ok ? 0 : 1;
}

}  // namespace ringmta::bench
