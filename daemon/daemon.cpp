// daemon/daemon.cpp — see daemon.h.
#include "daemon/daemon.h"

#include <signal.h>
#include <sys/resource.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "access/pop3_session.h"
#include "engine/shard_group.h"
#include "mailbox/service.h"
#include "queue/queue.h"
#include "queue/queue_id.h"
#include "admin/admin_server.h"
#include "auth/auth.h"
#include "limits/conn_limits.h"
#include "limits/handshake_budget.h"
#include "limits/inflight_budget.h"
#include "relay/delivery_agent.h"
#include "limits/disk_guard.h"
#include "relay/inbound.h"
#include "relay/loader.h"
#include "telemetry/metrics.h"
#include "admin/metrics_server.h"
#include "relay/scheduler.h"
#include "config/self_addresses.h"
#include "daemon/sd_notify.h"
#include "relay/shard.h"
#include "relay/shard_ask.h"
#include "tls/tls.h"

namespace ringmta::daemon {

// The relay and admin types this file wires together.
using admin::AdminServer;
using admin::MetricsServer;
using relay::Loader;
using relay::OutboundTlsContexts;
using relay::ShardContext;

namespace {

std::shared_ptr<const smtp::ServerConfig> make_smtp_config(const config::Config& config) {
  auto s = std::make_shared<smtp::ServerConfig>();
  s->hostname = config.server.hostname;
  s->max_message_size = config.limits.max_message_size;
  s->max_recipients = config.limits.max_recipients;
  s->max_line_length = config.limits.max_line_length;
  s->max_errors = config.limits.max_errors;
  s->max_hops = config.limits.max_hops;
  s->local_domains = config.relay.local_domains;
  s->auth_enabled = !config.auth.users_file.empty();
  s->sender_login_match = config.auth.sender_login_match;
  return s;
}

// The certificate files for inbound TLS: tls.certificate/private_key, or a
// self-signed pair for server.hostname in data_dir (created on first start).
// Empty optional (and a logged error) when the self-signed pair cannot be made.
std::optional<tls::ServerOptions> tls_options(const config::Config& config, bool log_self_signed) {
  tls::ServerOptions o;
  o.resumption = config.tls.resumption;
  if (!config.tls.certificate.empty()) {
    o.default_certificate = {config.tls.certificate, config.tls.private_key, {}};
  } else {
    tls::SelfSigned s = tls::ensure_self_signed(config.server.data_dir, config.server.hostname);
    if (!s.error.empty()) {
      spdlog::critical("cannot create a self-signed TLS certificate in {}: {}", config.server.data_dir, s.error);
      return std::nullopt;
    }
    if (log_self_signed) {
      spdlog::warn("tls.certificate is not set: using {} self-signed certificate for {} ({}); "
                   "clients that check certificates will refuse it",
                   s.created ? "a newly created" : "the", config.server.hostname, s.certificate);
    }
    o.default_certificate = {s.certificate, s.private_key, {}};
  }
  for (const auto& sni : config.tls.sni) o.sni.push_back({sni.certificate, sni.private_key, sni.names});
  return o;
}

// Run `fn(shard context)` on every shard and wait, with no deadline, until
// all have run it: shutdown steps that must have happened on every shard
// before the next begins. Off the hot path, from the main thread only.
template <typename Fn>
void on_every_shard(const std::vector<ShardContext*>& peers, Fn fn) {
  ask_shards(peers, std::move(fn), engine::kNoDeadline);
}

size_t count_connections(const std::vector<ShardContext*>& peers) {
  size_t total = 0;
  for (const auto& n :
       ask_shards(peers, [](ShardContext& ctx) { return ctx.reactor.connection_count(); }, engine::kNoDeadline)) {
    total += n.value_or(0);
  }
  return total;
}

// Ask every session to finish (idle ones get 421 at once), or abort them all.
void shut_sessions(ShardContext& ctx, bool hard) {
  std::vector<uint64_t> numbers;
  numbers.reserve(ctx.sessions.size());
  for (const auto& [n, s] : ctx.sessions) numbers.push_back(n);
  for (uint64_t n : numbers) {
    auto it = ctx.sessions.find(n);  // an earlier abort may have removed it
    if (it == ctx.sessions.end()) continue;
    if (hard) {
      it->second->abort();
    } else {
      it->second->shutdown();
    }
  }
}

// Signals are taken synchronously by the main thread; every other thread
// (shards, commit thread, logger) inherits the blocked mask.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return set;
}

// Scheduler and agent live on their shard's thread (the agent's resolver
// holds reactor polls and timers): destroy them there, before the loops end.
// Work posted later finds them null and is dropped; the queue keeps it.
void stop_delivery(const std::vector<ShardContext*>& peers) {
  on_every_shard(peers, [](ShardContext& ctx) {
    ctx.scheduler.reset();
    ctx.agent.reset();
  });
}

// Every connection is a descriptor: lift the soft RLIMIT_NOFILE to the hard
// limit (the engine expects this before start()). Not fatal if refused.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("cannot raise the open-file limit from {}: {}", before, std::strerror(errno));
  }
}

}  // namespace

int run_daemon(std::shared_ptr<const config::Config> config) {
  const sigset_t signals = block_signals();

  std::error_code ec;
  std::filesystem::create_directories(config->server.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data directory {}: {}", config->server.data_dir, ec.message());
    return 1;
  }

  queue::RocksDbOptions qopts;
  qopts.path = (std::filesystem::path(config->server.data_dir) / "queue").string();
  qopts.durability =
      config->queue.durability == config::Durability::Fsync ? queue::Durability::Fsync : queue::Durability::Wal;
  qopts.commit_wait = config->queue.commit_wait;
  qopts.commit_wait_batches = config->queue.commit_wait_batches;
  telemetry::CommitMetrics commit_metrics;  // outlives the queue (its commit thread writes it)
  qopts.on_commit = [&commit_metrics](size_t batches, double seconds) { commit_metrics.observe(batches, seconds); };
  // The mail store's column families live in the queue's RocksDB (one atomic
  // write for a local delivery; mailbox/store.h).
  const mailbox::Families mailbox_families = mailbox::register_families(qopts.extra_families);
  std::unique_ptr<queue::Queue> queue;
  if (auto st = queue::open_rocksdb_queue(qopts, queue); !st.ok()) {
    spdlog::critical("cannot open the queue at {}: {} (is another ringmta using this data_dir?)", qopts.path,
                     st.message);
    return 1;
  }

  std::string newest;
  if (auto st = queue->last_id(newest); !st.ok()) {
    spdlog::critical("cannot read the queue at {}: {}", qopts.path, st.message);
    return 1;
  }
  const uint64_t id_floor_ms = queue::queue_id_time_ms(newest).value_or(0);
  // queue.min_free_space: checked now and then every second on its own
  // thread (statvfs never runs on a shard). Declared before the shards, so
  // it outlives them and the metrics server.
  limits::DiskGuard disk_guard(config->server.data_dir, config->queue.min_free_space);
  disk_guard.start();
  raise_fd_limit();

  // Certificates are loaded before any listener opens: a bad file is a
  // start-up error, not a surprise at the first STARTTLS.
  std::shared_ptr<tls::ServerContext> tls_context;
  {
    auto options = tls_options(*config, true);
    if (!options) return 1;
    std::string error;
    tls_context = tls::ServerContext::create(*options, &error);
    if (!tls_context) {
      spdlog::critical("cannot load the TLS certificate: {}", error);
      return 1;
    }
  }

  // Outbound TLS contexts (CA files are read here, not on a shard thread);
  // an unreadable delivery.tls_ca_file stops the start like a bad certificate.
  std::string outbound_tls_error;
  auto outbound_tls = OutboundTlsContexts::create(config->delivery, &outbound_tls_error);
  if (!outbound_tls) {
    spdlog::critical("cannot set up outbound TLS: {}", outbound_tls_error);
    return 1;
  }

  // AUTH: the users file must be readable at start (a typo in its path
  // should not surface as "every login fails").
  std::unique_ptr<auth::AuthService> auth;
  if (!config->auth.users_file.empty()) {
    auth::AuthOptions ao;
    ao.users_file = config->auth.users_file;
    ao.max_failures = config->auth.max_failures;
    ao.failure_delay = std::chrono::duration_cast<std::chrono::milliseconds>(config->auth.failure_delay);
    ao.failure_window = config->auth.failure_window;
    auth = std::make_unique<auth::AuthService>(ao);
    if (std::string error = auth->load(); !error.empty()) {
      spdlog::critical("cannot read auth.users_file: {}", error);
      return 1;
    }
  }
  for (const auto& l : config->listeners) {
    if (!auth && (l.kind == config::ListenerKind::Pop3 || l.kind == config::ListenerKind::Pop3s))
      spdlog::warn("listener {} ({}) needs auth.users_file for logins: every login will fail", l.address_text,
                   to_string(l.kind));
    if (!auth && (l.kind == config::ListenerKind::Submission || l.kind == config::ListenerKind::Submissions))
      spdlog::warn("listener {} ({}) requires AUTH but auth.users_file is not set: it will refuse all mail",
                   l.address_text, to_string(l.kind));
  }
  // This host's addresses, for the delivery agents' loop check
  // (self_addresses.h): read once here, so no shard thread asks the kernel.
  spdlog::debug("host addresses: {}", fmt::join(config::host_addresses(), ", "));
  // Outlives the shards: sessions release their slot when they are destroyed.
  limits::ConnectionLimiter limiter(config->limits.max_connections, config->limits.max_connections_per_ip);
  limits::InflightBudget inflight(config->limits.inflight_memory);
  limits::HandshakeBudget handshakes(config->limits.tls_handshake_rate, config->limits.tls_handshake_rate_per_ip);

  auto smtp_config = make_smtp_config(*config);
  auto shards = std::make_unique<engine::ShardGroup>(config->server.threads);
  const unsigned nshards = shards->size();
  // Contexts exist before any shard runs, so shards can post to each other
  // from their first event on.
  std::vector<std::unique_ptr<ShardContext>> contexts(nshards);
  std::vector<ShardContext*> peers(nshards);
  Loader loader(*queue, nshards, Loader::Options{}, [&peers](unsigned shard, queue::Envelope env,
                                                              std::shared_ptr<const std::string> body, int64_t horizon,
                                                              int64_t stamp) {
    ShardContext* ctx = peers[shard];
    ctx->reactor.post([ctx, env = std::move(env), body = std::move(body), horizon, stamp]() mutable {
      if (ctx->scheduler) {
        ctx->scheduler->adopt(std::move(env), std::move(body), horizon, stamp);
      } else if (ctx->loader) {
        ctx->loader->release(env.id);
      }
    });
  });
  // The mail store at run time (POP3 now, local delivery and IMAP later):
  // its readers start before the shards; destroyed after they stopped.
  std::vector<engine::Reactor*> reactors(nshards);
  for (unsigned i = 0; i < nshards; ++i) reactors[i] = &shards->shard(i);
  auto mailbox_service = std::make_unique<mailbox::Service>(*queue, mailbox_families, reactors);
  if (auto st = mailbox_service->start(); !st.ok()) {
    spdlog::critical("cannot read the mail store at {}: {}", qopts.path, st.message);
    return 1;
  }
  // POP3 sessions' per-shard state (access/pop3_session.h).
  const auto pop3_config = access::make_pop3_config(*config);
  std::vector<std::unique_ptr<access::Pop3Shard>> pop3_shards(nshards);
  for (unsigned i = 0; i < nshards; ++i) {
    contexts[i] = std::make_unique<ShardContext>(shards->shard(i), *queue, config, smtp_config, id_floor_ms);
    auto& p = pop3_shards[i] = std::make_unique<access::Pop3Shard>();
    p->reactor = &shards->shard(i);
    p->config = config;
    p->pop3 = pop3_config;
    p->mailbox = mailbox_service.get();
    p->reactors = &reactors;
    p->auth = auth.get();
    p->limiter = &limiter;
    p->handshakes = &handshakes;
    p->tls = tls_context;
    contexts[i]->peers = &peers;
    contexts[i]->loader = &loader;
    contexts[i]->auth = auth.get();
    contexts[i]->limiter = &limiter;
    contexts[i]->inflight = &inflight;
    contexts[i]->handshakes = &handshakes;
    contexts[i]->disk = &disk_guard;
    contexts[i]->tls = tls_context;
    peers[i] = contexts[i].get();
  }
  // /metrics: bound before the listeners, so a taken port stops the start
  // (scrapes before the shards run just wait for them). Stopped first at exit.
  std::unique_ptr<admin::MetricsServer> metrics_server;
  if (!config->metrics.listen.empty()) {
    std::string error;
    metrics_server = MetricsServer::start({peers, queue.get(), config, &commit_metrics, &disk_guard}, &error);
    if (!metrics_server) {
      spdlog::critical("{}", error);
      return 1;
    }
  }
  // The admin API (ringmtactl): bound before the listeners too; requests that
  // arrive before the shards run wait in their mailboxes. Its `reload` does
  // what SIGHUP does.
  auto reload = [&config, &tls_context]() -> std::string {
    // Re-read the certificate files (never on a shard: file I/O). Open
    // connections keep the certificate they started with.
    std::string error;
    auto options = tls_options(*config, false);
    if (!options) return "cannot create the self-signed certificate (see the log)";
    if (!tls_context->reload(*options, &error)) {
      spdlog::error("reload: TLS certificate reload failed, keeping the previous one: {}", error);
      return "TLS certificate reload failed, keeping the previous one: " + error;
    }
    spdlog::info("reload: TLS certificates reloaded (generation {})", tls_context->generation());
    return "";
  };
  admin::AdminServer admin(config, AdminServer::Hooks{queue.get(), &peers, &loader, reload});
  if (std::string error; !admin.start(&error)) {
    spdlog::critical("cannot start the admin API: {}", error);
    return 1;
  }
  std::atomic<bool> listen_failed{false};

  int rc = shards->start([&](engine::Reactor& reactor) -> int {
    auto& ctx = contexts[reactor.shard_id()];
    // Delivery first: an accepted message is handed to the scheduler at once.
    ctx->agent = std::make_unique<relay::DeliveryAgent>(reactor, config, nshards, outbound_tls);
    ctx->scheduler = std::make_unique<relay::Scheduler>(*ctx);
    for (size_t i = 0; i < config->listeners.size(); ++i) {
      const auto& l = config->listeners[i];
      engine::ListenerSpec spec;
      spec.address = l.address;
      spec.tag = static_cast<int>(i);
      // SMTP server output is replies (and TLS records of them): 64 KiB
      // (the kernel doubles it) is plenty, and a client that does not read
      // pins no more kernel memory than that (see relay/inbound_flow.cpp).
      spec.send_buffer = 64 * 1024;
      spec.factory = relay::inbound_factory(*ctx);
      if (l.kind == config::ListenerKind::Pop3 || l.kind == config::ListenerKind::Pop3s) {
        // POP3 output is mostly message text: the kernel's autotuning.
        spec.send_buffer = 0;
        spec.factory = access::pop3_factory(*pop3_shards[reactor.shard_id()]);
      }
      if (int err = reactor.add_listener(spec); err != 0) {
        if (!listen_failed.exchange(true)) {
          spdlog::critical("cannot listen on {}: {}", l.address_text, std::strerror(err));
        }
        return err;
      }
    }
    return 0;
  });
  if (rc != 0) {
    metrics_server.reset();
    admin.stop();
    // The shard threads are gone, so their schedulers and agents cannot be
    // destroyed on them; the process is about to exit: leave them.
    for (auto& ctx : contexts) {
      (void)ctx->scheduler.release();
      (void)ctx->agent.release();
    }
    mailbox_service.reset();
    shards.reset();
    queue.reset();
    return 1;
  }
  loader.start();

  std::string where;
  for (const auto& l : config->listeners) {
    if (!where.empty()) where += ", ";
    where += std::string(to_string(l.kind)) + " " + l.address_text;
  }
  spdlog::info("ringmta ready: {} shard(s), listening on {}, queue {} (durability {})", shards->size(), where,
               qopts.path, config->queue.durability == config::Durability::Fsync ? "fsync" : "wal");
  if (metrics_server) spdlog::info("metrics: http://{}/metrics", config->metrics.listen);
  if (!admin.where().empty()) spdlog::info("admin API on {}", admin.where());
  if (std::string e = sd_notify("READY=1\nSTATUS=accepting mail"); !e.empty()) spdlog::warn("sd_notify: {}", e);

  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading");
      reload();
      continue;
    }
    spdlog::info("{}: stopping: no new connections, open transactions get up to {}s",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", config->server.shutdown_timeout.count());
    break;
  }
  (void)sd_notify("STOPPING=1");
  metrics_server.reset();  // no scrape may post to shards that are stopping
  admin.stop();            // nor an admin request

  loader.stop();
  on_every_shard(peers, [&pop3_shards](ShardContext& ctx) {
    ctx.shutting_down = true;
    ctx.reactor.stop_accepting();
    shut_sessions(ctx, false);
    pop3_shards[ctx.reactor.shard_id()]->shutting_down = true;
    pop3_shards[ctx.reactor.shard_id()]->shutdown(false);
    if (ctx.scheduler) ctx.scheduler->shutdown();
    if (ctx.agent) ctx.agent->shutdown();
  });
  const auto deadline = std::chrono::steady_clock::now() + config->server.shutdown_timeout;
  size_t open = count_connections(peers);
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    open = count_connections(peers);
  }
  if (open > 0) {
    spdlog::warn("shutdown timeout: closing {} connection(s) still open", open);
    on_every_shard(peers, [&pop3_shards](ShardContext& ctx) {
      shut_sessions(ctx, true);
      pop3_shards[ctx.reactor.shard_id()]->shutdown(true);
    });
  }

  stop_delivery(peers);
  // POP3 sessions still open (destroyed with their reactor) leave the mail
  // store alone from here on: it is destroyed before the reactors.
  on_every_shard(peers, [&pop3_shards](ShardContext& ctx) { pop3_shards[ctx.reactor.shard_id()]->mailbox = nullptr; });
  shards->stop_and_join();
  mailbox_service.reset();  // joins its readers (their answers land in the stopped reactors' mailboxes)
  auth.reset();  // joins the workers; verdicts they post land in the stopped reactors' mailboxes
  // Completions still in flight post into the stopped reactors' mailboxes,
  // which live until `shards` is destroyed below — after the queue.
  auto st = queue->flush();
  const auto stats = queue->stats();
  queue.reset();
  uint64_t accepted = 0, connections = 0, delivered = 0, bounced = 0;
  for (const auto& ctx : contexts) {
    if (!ctx) continue;
    accepted += ctx->counters.messages_accepted;
    connections += ctx->counters.connections;
    delivered += ctx->counters.recipients_delivered;
    bounced += ctx->counters.recipients_bounced;
  }
  shards.reset();
  contexts.clear();
  if (!st.ok()) {
    spdlog::error("final queue sync failed: {}", st.message);
    return 1;
  }
  spdlog::info("stopped: {} connection(s), {} message(s) accepted, {} queue write(s), {} sync(s), "
               "{} recipient(s) delivered, {} bounced",
               connections, accepted, stats.writes, stats.syncs, delivered, bounced);
  return 0;
}

}  // namespace ringmta::daemon
