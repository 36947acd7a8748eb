// daemon/daemon.cpp — run_daemon: the daemon's start-up and shutdown as named
// steps (class Daemon below), in the order README.md gives under "Start-up
// and shutdown". The pieces the steps are made of are in daemon_parts.*.
//
// To add a step (a mailbox store, POP3 listeners, ...):
//  1. its state becomes a member of Daemon, declared after what it uses and
//     before what uses it: members are destroyed in reverse order, and that is
//     also how a failed start unwinds whatever was built so far;
//  2. a method builds it, with a one-line comment; it returns false after a
//     critical log line when the daemon cannot start (run_daemon exits 1);
//  3. one line in run_daemon at its place, and its stop in the shutdown half
//     when it runs threads or posts work to the shards;
//  4. the README list under "Start-up and shutdown" names it.
// A per-shard piece (a listener kind, a per-shard service) goes in
// start_shard(), which runs on each shard's own thread before its loop.
#include "daemon/daemon.h"

#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>
#include <vector>

#include "access/imap_session.h"
#include "access/pop3_session.h"
#include "admin/admin_server.h"
#include "admin/metrics_server.h"
#include "auth/auth.h"
#include "config/self_addresses.h"
#include "dkim/pool.h"
#include "dkim/signer.h"
#include "daemon/daemon_parts.h"
#include "daemon/sd_notify.h"
#include "engine/shard_group.h"
#include "limits/conn_limits.h"
#include "limits/disk_guard.h"
#include "limits/handshake_budget.h"
#include "limits/inflight_budget.h"
#include "mailbox/service.h"
#include "mailbox/store.h"
#include "queue/queue.h"
#include "queue/queue_id.h"
#include "relay/delivery_agent.h"
#include "relay/inbound.h"
#include "relay/local_directory.h"
#include "relay/loader.h"
#include "relay/outbound_tls.h"
#include "relay/credential_store.h"
#include "relay/scheduler.h"
#include "relay/shard.h"
#include "telemetry/metrics.h"
#include "tls/tls.h"

namespace ringmta::daemon {

using relay::ShardContext;

namespace {

class Daemon {
 public:
  explicit Daemon(std::shared_ptr<const config::Config> config) : config_(std::move(config)) {}

  // Start-up. A bool step returns false after a critical log line: the daemon
  // cannot start and exits 1.
  void take_signals();           // SIGTERM/SIGINT/SIGHUP go to the main thread only
  bool make_data_dir();          // server.data_dir exists
  bool open_queue();             // the RocksDB queue, and its newest ID (the ID floor)
  void start_disk_guard();       // queue.min_free_space, checked every second
  void raise_open_file_limit();  // RLIMIT_NOFILE up to the hard limit
  bool load_tls_certificates();  // inbound certificates, before any listener opens
  bool make_outbound_tls();      // delivery TLS contexts (CA files read here)
  bool load_users_file();        // auth.users_file must be readable at start
  bool load_dkim_keys();         // [[dkim]] keys read and checked; the signing workers
  void make_shared_limits();     // connection, in-flight memory and handshake limits
  void make_shards();            // shard threads (not running), their contexts, the loader
  bool start_mail_store();       // [mailbox] enabled: users and aliases, the store's run time
  void make_pop3_shards();       // POP3 listeners' per-shard state (access/pop3_session.h)
  void make_imap_shards();       // IMAP listeners' per-shard state (access/imap_session.h)
  bool start_metrics();          // /metrics bound before the listeners
  bool start_admin();            // admin API bound before the listeners
  bool start_shards();           // each shard: delivery, then its listeners; loops run
  void start_loader();           // queued mail starts flowing to the shards
  void announce_ready();         // the "ringmta ready" line and sd_notify READY=1
  void wait_for_stop();          // SIGHUP reloads; returns on SIGTERM/SIGINT

  // Shutdown.
  void stop_metrics_and_admin();  // no scrape or admin request may reach stopping shards
  void stop_loader();             // no queued mail handed to shards any more
  void stop_accepting();          // listeners closed, sessions asked to finish
  void wait_for_sessions();       // up to server.shutdown_timeout, then abort the rest
  void stop_delivery();           // schedulers and agents destroyed on their shards
  void stop_access();             // POP3/IMAP sessions still open leave the mail store alone
  void join_shards();             // shard loops end, threads joined
  void stop_mail_store();         // the store's readers joined (they read the queue)
  void stop_auth_workers();       // password workers joined
  void stop_dkim_workers();       // signing workers joined
  void flush_queue();             // last sync, then the queue closes
  void release_shards();          // totals collected, shard state freed
  int log_totals();               // the "stopped:" line; exit code (1 if the sync failed)

 private:
  int start_shard(engine::Reactor& reactor);  // on each shard's thread, before its loop
  void abandon_shards();                      // after a failed start_shards()
  std::string reload();                       // SIGHUP and `ringmtactl reload`

  // In start-up order: destroyed in reverse (see the header comment).
  std::shared_ptr<const config::Config> config_;
  sigset_t signals_{};
  telemetry::CommitMetrics commit_metrics_;  // outlives the queue (its commit thread writes it)
  std::string queue_path_;
  mailbox::Families mailbox_families_;  // the mail store's column families in the queue's database
  std::unique_ptr<queue::Queue> queue_;
  uint64_t id_floor_ms_ = 0;
  // Outlives the shards and the metrics server (both read it).
  std::optional<limits::DiskGuard> disk_guard_;
  std::shared_ptr<tls::ServerContext> tls_context_;
  std::shared_ptr<const relay::OutboundTlsContexts> outbound_tls_;
  std::shared_ptr<relay::CredentialStore> credentials_;  // delivery.credentials_file (watched)
  std::unique_ptr<auth::AuthService> auth_;
  std::shared_ptr<const dkim::Signer> dkim_signer_;  // null without [[dkim]]
  std::unique_ptr<dkim::SigningPool> dkim_pool_;
  // Outlive the shards: sessions release their slot when they are destroyed.
  std::optional<limits::ConnectionLimiter> limiter_;
  std::optional<limits::InflightBudget> inflight_;
  std::optional<limits::HandshakeBudget> handshakes_;
  std::shared_ptr<const smtp::ServerConfig> smtp_config_;
  std::unique_ptr<engine::ShardGroup> shards_;
  std::vector<std::unique_ptr<ShardContext>> contexts_;
  std::vector<ShardContext*> peers_;
  std::unique_ptr<relay::Loader> loader_;
  std::unique_ptr<relay::LocalDirectory> directory_;
  std::unique_ptr<mailbox::Service> mailboxes_;
  std::vector<engine::Reactor*> reactors_;  // every shard's, by id (the Service and POP3 post to them)
  std::vector<std::unique_ptr<access::Pop3Shard>> pop3_shards_;  // by shard id; empty without POP3 listeners
  std::vector<std::unique_ptr<access::ImapShard>> imap_shards_;  // by shard id; empty without IMAP listeners
  std::vector<access::ImapShard*> imap_peers_;                   // the same, as the sessions index them
  std::unique_ptr<admin::MetricsServer> metrics_server_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::atomic<bool> listen_failed_{false};
  // Shutdown results, for log_totals().
  queue::Status final_sync_;
  queue::QueueStats queue_stats_{};
  uint64_t accepted_ = 0, connections_ = 0, delivered_ = 0, bounced_ = 0;
};

void Daemon::take_signals() { signals_ = block_signals(); }

bool Daemon::make_data_dir() {
  std::error_code ec;
  std::filesystem::create_directories(config_->server.data_dir, ec);
  if (ec) {
    spdlog::critical("cannot create data directory {}: {}", config_->server.data_dir, ec.message());
    return false;
  }
  return true;
}

bool Daemon::open_queue() {
  queue::RocksDbOptions qopts;
  qopts.path = queue_path_ = (std::filesystem::path(config_->server.data_dir) / "queue").string();
  qopts.durability =
      config_->queue.durability == config::Durability::Fsync ? queue::Durability::Fsync : queue::Durability::Wal;
  qopts.commit_wait = config_->queue.commit_wait;
  qopts.commit_wait_batches = config_->queue.commit_wait_batches;
  qopts.on_commit = [this](size_t batches, double seconds) { commit_metrics_.observe(batches, seconds); };
  // The mail store lives in the queue's database (one write per local delivery).
  mailbox_families_ = mailbox::register_families(qopts.extra_families);
  if (auto st = queue::open_rocksdb_queue(qopts, queue_); !st.ok()) {
    spdlog::critical("cannot open the queue at {}: {} (is another ringmta using this data_dir?)", queue_path_,
                     st.message);
    return false;
  }
  std::string newest;
  if (auto st = queue_->last_id(newest); !st.ok()) {
    spdlog::critical("cannot read the queue at {}: {}", queue_path_, st.message);
    return false;
  }
  id_floor_ms_ = queue::queue_id_time_ms(newest).value_or(0);
  return true;
}

// statvfs never runs on a shard: the guard checks now, then on its own thread.
void Daemon::start_disk_guard() {
  disk_guard_.emplace(config_->server.data_dir, config_->queue.min_free_space);
  disk_guard_->start();
}

void Daemon::raise_open_file_limit() { raise_fd_limit(); }

// A bad certificate file is a start-up error, not a surprise at the first STARTTLS.
bool Daemon::load_tls_certificates() {
  auto options = tls_options(*config_, true);
  if (!options) return false;
  std::string error;
  tls_context_ = tls::ServerContext::create(*options, &error);
  if (!tls_context_) {
    spdlog::critical("cannot load the TLS certificate: {}", error);
    return false;
  }
  return true;
}

// An unreadable delivery.tls_ca_file stops the start like a bad certificate.
bool Daemon::make_outbound_tls() {
  std::string error;
  outbound_tls_ = relay::OutboundTlsContexts::create(config_->delivery, &error, config_->server.data_dir);
  if (!outbound_tls_) {
    spdlog::critical("cannot set up outbound TLS: {}", error);
    return false;
  }
  // Upstream logins: an unreadable or group/world-readable file stops the start.
  if (!config_->delivery.credentials_file.empty()) {
    credentials_ = std::make_shared<relay::CredentialStore>(config_->delivery.credentials_file);
    if (std::string e = credentials_->load(); !e.empty()) {
      spdlog::critical("delivery.credentials_file: {}", e);
      return false;
    }
    credentials_->start();
  }
  return true;
}

// A typo in the path should not surface as "every login fails".
bool Daemon::load_users_file() {
  if (!config_->auth.users_file.empty()) {
    auth::AuthOptions ao;
    ao.users_file = config_->auth.users_file;
    ao.max_failures = config_->auth.max_failures;
    ao.failure_delay = std::chrono::duration_cast<std::chrono::milliseconds>(config_->auth.failure_delay);
    ao.failure_window = config_->auth.failure_window;
    auth_ = std::make_unique<auth::AuthService>(ao);
    if (std::string error = auth_->load(); !error.empty()) {
      spdlog::critical("cannot read auth.users_file: {}", error);
      return false;
    }
  }
  for (const auto& l : config_->listeners) {
    if (!auth_ && (l.kind == config::ListenerKind::Submission || l.kind == config::ListenerKind::Submissions))
      spdlog::warn("listener {} ({}) requires AUTH but auth.users_file is not set: it will refuse all mail",
                   l.address_text, to_string(l.kind));
  }
  return true;
}

// Keys are read here, on the main thread, once: a missing or unsafe key file,
// or a key of the wrong type, stops the start with the file and the reason.
bool Daemon::load_dkim_keys() {
  if (config_->dkim.empty()) return true;
  std::vector<dkim::DomainSettings> settings;
  for (const auto& d : config_->dkim) {
    dkim::DomainSettings s;
    s.domain = d.domain;
    s.selector = d.selector;
    s.key_file = d.key_file;
    s.algorithm = dkim::parse_algorithm(d.algorithm).value_or(dkim::Algorithm::RsaSha256);
    s.header_canon = d.header_canon == "simple" ? dkim::Canon::Simple : dkim::Canon::Relaxed;
    s.body_canon = d.body_canon == "simple" ? dkim::Canon::Simple : dkim::Canon::Relaxed;
    s.headers = d.headers;
    s.over_sign = d.over_sign;
    settings.push_back(std::move(s));
  }
  std::vector<std::string> warnings;
  auto signer = dkim::Signer::load(std::move(settings), &warnings);
  for (const auto& w : warnings) spdlog::warn("{}", w);
  if (!signer) {
    spdlog::critical("cannot load a DKIM key: {}", signer.error());
    return false;
  }
  dkim_signer_ = std::move(signer).value();
  for (const auto& d : config_->dkim)
    spdlog::info("dkim: signing for {} with selector {} ({})", d.domain, d.selector, d.algorithm);
  dkim_pool_ = std::make_unique<dkim::SigningPool>(std::max(1u, std::thread::hardware_concurrency()));
  return true;
}

void Daemon::make_shared_limits() {
  // This host's addresses, for the delivery agents' loop check
  // (self_addresses.h): read once here, so no shard thread asks the kernel.
  spdlog::debug("host addresses: {}", fmt::join(config::host_addresses(), ", "));
  limiter_.emplace(config_->limits.max_connections, config_->limits.max_connections_per_ip);
  inflight_.emplace(config_->limits.inflight_memory);
  handshakes_.emplace(config_->limits.tls_handshake_rate, config_->limits.tls_handshake_rate_per_ip);
}

// Contexts exist before any shard runs, so shards can post to each other
// from their first event on.
void Daemon::make_shards() {
  smtp_config_ = make_smtp_config(*config_);
  shards_ = std::make_unique<engine::ShardGroup>(config_->server.threads);
  const unsigned nshards = shards_->size();
  contexts_.resize(nshards);
  peers_.resize(nshards);
  for (unsigned i = 0; i < nshards; ++i) reactors_.push_back(&shards_->shard(i));
  loader_ = std::make_unique<relay::Loader>(
      *queue_, nshards, relay::Loader::Options{},
      [this](unsigned shard, queue::Envelope env, std::shared_ptr<const std::string> body, int64_t horizon,
             int64_t stamp) {
        ShardContext* ctx = peers_[shard];
        ctx->reactor.post([ctx, env = std::move(env), body = std::move(body), horizon, stamp]() mutable {
          if (ctx->scheduler) {
            ctx->scheduler->adopt(std::move(env), std::move(body), horizon, stamp);
          } else if (ctx->loader) {
            ctx->loader->release(env.id);
          }
        });
      });
  for (unsigned i = 0; i < nshards; ++i) {
    auto& ctx = contexts_[i];
    ctx = std::make_unique<ShardContext>(shards_->shard(i), *queue_, config_, smtp_config_, id_floor_ms_);
    ctx->peers = &peers_;
    ctx->loader = loader_.get();
    ctx->auth = auth_.get();
    ctx->dkim_signer = dkim_signer_;
    ctx->dkim_pool = dkim_pool_.get();
    ctx->limiter = &*limiter_;
    ctx->inflight = &*inflight_;
    ctx->handshakes = &*handshakes_;
    ctx->disk = &*disk_guard_;
    ctx->tls = tls_context_;
    peers_[i] = ctx.get();
  }
}

// Local delivery and mailboxes ([mailbox] enabled): who lives at the local
// domains (users and aliases files, re-read on change) and the mail store's
// run time, handed to every shard's context. Stopped after the shards.
bool Daemon::start_mail_store() {
  if (!config_->mailbox.enabled) return true;
  directory_ = std::make_unique<relay::LocalDirectory>(*config_);
  if (std::string error = directory_->load(); !error.empty()) {
    spdlog::critical("local delivery: cannot read {}", error);
    return false;
  }
  directory_->start();
  mailboxes_ = std::make_unique<mailbox::Service>(*queue_, mailbox_families_, reactors_);
  if (auto st = mailboxes_->start(); !st.ok()) {
    spdlog::critical("cannot read the mail store: {}", st.message);
    return false;
  }
  for (auto& ctx : contexts_) {
    ctx->mailboxes = mailboxes_.get();
    ctx->directory = directory_.get();
  }
  return true;
}

// POP3 listeners (config: they need [mailbox] enabled) get per-shard state
// with the shared services; the factory is added in start_shard().
void Daemon::make_pop3_shards() {
  const bool any = std::any_of(config_->listeners.begin(), config_->listeners.end(), [](const auto& l) {
    return l.kind == config::ListenerKind::Pop3 || l.kind == config::ListenerKind::Pop3s;
  });
  if (!any) return;
  const auto pop3_config = access::make_pop3_config(*config_);
  for (unsigned i = 0; i < shards_->size(); ++i) {
    auto& p = pop3_shards_.emplace_back(std::make_unique<access::Pop3Shard>());
    p->reactor = reactors_[i];
    p->config = config_;
    p->pop3 = pop3_config;
    p->mailbox = mailboxes_.get();
    p->reactors = &reactors_;
    p->auth = auth_.get();
    p->limiter = &*limiter_;
    p->handshakes = &*handshakes_;
    p->tls = tls_context_;
  }
}

// IMAP listeners (config: they need [mailbox] enabled): per-shard state, and
// the mail store's listener that wakes idling sessions on any change.
void Daemon::make_imap_shards() {
  const bool any = std::any_of(config_->listeners.begin(), config_->listeners.end(), [](const auto& l) {
    return l.kind == config::ListenerKind::Imap || l.kind == config::ListenerKind::Imaps;
  });
  if (!any) return;
  relay::LocalDirectory* directory = directory_.get();
  for (unsigned i = 0; i < shards_->size(); ++i) {
    auto& p = imap_shards_.emplace_back(std::make_unique<access::ImapShard>());
    imap_peers_.push_back(p.get());
    p->reactor = reactors_[i];
    p->config = config_;
    p->mailbox = mailboxes_.get();
    p->reactors = &reactors_;
    p->peers = &imap_peers_;
    p->auth = auth_.get();
    p->limiter = &*limiter_;
    p->handshakes = &*handshakes_;
    p->tls = tls_context_;
    // APPEND's body ids: a queue-ID shard number no queue shard has.
    p->body_ids = std::make_unique<queue::QueueIdGenerator>(4094 - i, id_floor_ms_);
    p->quota_of = [directory](const std::string& user) -> uint64_t {
      if (!directory) return 0;
      auto snapshot = directory->current();
      return snapshot ? directory->quota_of(*snapshot, user) : 0;
    };
  }
  mailboxes_->set_listener([this](const std::string& user, const mailbox::UserState& state) {
    imap_peers_[mailboxes_->owner_of(user)]->changed(user, state);
  });
}

// A taken port stops the start; scrapes before the shards run just wait for
// them. Stopped first at exit.
bool Daemon::start_metrics() {
  if (config_->metrics.listen.empty()) return true;
  std::string error;
  metrics_server_ = admin::MetricsServer::start({peers_, queue_.get(), config_, &commit_metrics_, &*disk_guard_, mailboxes_.get()}, &error);
  if (!metrics_server_) {
    spdlog::critical("{}", error);
    return false;
  }
  return true;
}

// Requests that arrive before the shards run wait in their mailboxes. Its
// `reload` does what SIGHUP does.
bool Daemon::start_admin() {
  admin_ = std::make_unique<admin::AdminServer>(
      config_, admin::AdminServer::Hooks{queue_.get(), &peers_, loader_.get(), [this] { return reload(); },
                                                  mailboxes_.get()});
  if (std::string error; !admin_->start(&error)) {
    spdlog::critical("cannot start the admin API: {}", error);
    return false;
  }
  return true;
}

bool Daemon::start_shards() {
  if (shards_->start([this](engine::Reactor& reactor) { return start_shard(reactor); }) == 0) return true;
  abandon_shards();
  return false;
}

int Daemon::start_shard(engine::Reactor& reactor) {
  auto& ctx = contexts_[reactor.shard_id()];
  // Delivery first: an accepted message is handed to the scheduler at once.
  ctx->agent = std::make_unique<relay::DeliveryAgent>(reactor, config_, shards_->size(), outbound_tls_, credentials_);
  ctx->scheduler = std::make_unique<relay::Scheduler>(*ctx);
  for (size_t i = 0; i < config_->listeners.size(); ++i) {
    const auto& l = config_->listeners[i];
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
      spec.factory = access::pop3_factory(*pop3_shards_[reactor.shard_id()]);
    }
    if (l.kind == config::ListenerKind::Imap || l.kind == config::ListenerKind::Imaps) {
      spec.send_buffer = 0;
      spec.factory = access::imap_factory(*imap_shards_[reactor.shard_id()]);
    }
    if (int err = reactor.add_listener(spec); err != 0) {
      if (!listen_failed_.exchange(true)) {
        spdlog::critical("cannot listen on {}: {}", l.address_text, std::strerror(err));
      }
      return err;
    }
  }
  return 0;
}

void Daemon::abandon_shards() {
  metrics_server_.reset();
  admin_->stop();
  // The shard threads are gone, so their schedulers and agents cannot be
  // destroyed on them; the process is about to exit: leave them.
  for (auto& ctx : contexts_) {
    (void)ctx->scheduler.release();
    (void)ctx->agent.release();
  }
  mailboxes_.reset();
  shards_.reset();
  queue_.reset();
}

void Daemon::start_loader() { loader_->start(); }

void Daemon::announce_ready() {
  std::string where;
  for (const auto& l : config_->listeners) {
    if (!where.empty()) where += ", ";
    where += std::string(to_string(l.kind)) + " " + l.address_text;
  }
  spdlog::info("ringmta ready: {} shard(s), listening on {}, queue {} (durability {})", shards_->size(), where,
               queue_path_, config_->queue.durability == config::Durability::Fsync ? "fsync" : "wal");
  if (metrics_server_) spdlog::info("metrics: http://{}/metrics", config_->metrics.listen);
  if (!admin_->where().empty()) spdlog::info("admin API on {}", admin_->where());
  if (std::string e = sd_notify("READY=1\nSTATUS=accepting mail"); !e.empty()) spdlog::warn("sd_notify: {}", e);
}

// Re-reads the certificate files (never on a shard: file I/O). Open
// connections keep the certificate they started with. "" = done.
std::string Daemon::reload() {
  std::string error;
  auto options = tls_options(*config_, false);
  if (!options) return "cannot create the self-signed certificate (see the log)";
  if (!tls_context_->reload(*options, &error)) {
    spdlog::error("reload: TLS certificate reload failed, keeping the previous one: {}", error);
    return "TLS certificate reload failed, keeping the previous one: " + error;
  }
  spdlog::info("reload: TLS certificates reloaded (generation {})", tls_context_->generation());
  return "";
}

void Daemon::wait_for_stop() {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals_, &sig) != 0) continue;
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading");
      reload();
      continue;
    }
    spdlog::info("{}: stopping: no new connections, open transactions get up to {}s",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT", config_->server.shutdown_timeout.count());
    break;
  }
  (void)sd_notify("STOPPING=1");
}

void Daemon::stop_metrics_and_admin() {
  metrics_server_.reset();
  admin_->stop();
}

void Daemon::stop_loader() { loader_->stop(); }

void Daemon::stop_accepting() {
  on_every_shard(peers_, [this](ShardContext& ctx) {
    ctx.shutting_down = true;
    ctx.reactor.stop_accepting();
    shut_sessions(ctx, false);
    if (!pop3_shards_.empty()) {
      pop3_shards_[ctx.reactor.shard_id()]->shutting_down = true;
      pop3_shards_[ctx.reactor.shard_id()]->shutdown(false);
    }
    if (!imap_shards_.empty()) {
      imap_shards_[ctx.reactor.shard_id()]->shutting_down = true;
      imap_shards_[ctx.reactor.shard_id()]->shutdown(false);
    }
    if (ctx.scheduler) ctx.scheduler->shutdown();
    if (ctx.agent) ctx.agent->shutdown();
  });
}

void Daemon::wait_for_sessions() {
  const auto deadline = std::chrono::steady_clock::now() + config_->server.shutdown_timeout;
  size_t open = count_connections(peers_);
  while (open > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    open = count_connections(peers_);
  }
  if (open > 0) {
    spdlog::warn("shutdown timeout: closing {} connection(s) still open", open);
    on_every_shard(peers_, [this](ShardContext& ctx) {
      shut_sessions(ctx, true);
      if (!pop3_shards_.empty()) pop3_shards_[ctx.reactor.shard_id()]->shutdown(true);
      if (!imap_shards_.empty()) imap_shards_[ctx.reactor.shard_id()]->shutdown(true);
    });
  }
}

// Scheduler and agent live on their shard's thread (the agent's resolver
// holds reactor polls and timers): destroy them there, before the loops end.
// Work posted later finds them null and is dropped; the queue keeps it.
void Daemon::stop_delivery() {
  on_every_shard(peers_, [](ShardContext& ctx) {
    ctx.scheduler.reset();
    ctx.agent.reset();
  });
}

// The mail store is destroyed before the reactors: a POP3 session still open
// (destroyed with its reactor) must not call it any more.
void Daemon::stop_access() {
  on_every_shard(peers_, [this](ShardContext& ctx) {
    if (!pop3_shards_.empty()) pop3_shards_[ctx.reactor.shard_id()]->mailbox = nullptr;
    if (!imap_shards_.empty()) imap_shards_[ctx.reactor.shard_id()]->mailbox = nullptr;
  });
}

void Daemon::join_shards() { shards_->stop_and_join(); }

void Daemon::stop_mail_store() { mailboxes_.reset(); }

// Verdicts the workers still post land in the stopped reactors' mailboxes.
void Daemon::stop_auth_workers() { auth_.reset(); }

// Like the password workers: a signature finished now posts into a stopped
// reactor's mailbox, which lives until release_shards().
void Daemon::stop_dkim_workers() { dkim_pool_.reset(); }

// Completions still in flight post into the stopped reactors' mailboxes,
// which live until release_shards() — after the queue is closed.
void Daemon::flush_queue() {
  final_sync_ = queue_->flush();
  queue_stats_ = queue_->stats();
  queue_.reset();
}

void Daemon::release_shards() {
  for (const auto& ctx : contexts_) {
    if (!ctx) continue;
    accepted_ += ctx->counters.messages_accepted;
    connections_ += ctx->counters.connections;
    delivered_ += ctx->counters.recipients_delivered;
    bounced_ += ctx->counters.recipients_bounced;
  }
  shards_.reset();
  contexts_.clear();
}

int Daemon::log_totals() {
  if (!final_sync_.ok()) {
    spdlog::error("final queue sync failed: {}", final_sync_.message);
    return 1;
  }
  spdlog::info("stopped: {} connection(s), {} message(s) accepted, {} queue write(s), {} sync(s), "
               "{} recipient(s) delivered, {} bounced",
               connections_, accepted_, queue_stats_.writes, queue_stats_.syncs, delivered_, bounced_);
  return 0;
}

}  // namespace

int run_daemon(std::shared_ptr<const config::Config> config) {
  Daemon d(std::move(config));
  // Start-up (README: "Start-up and shutdown"); a failed step exits 1.
  d.take_signals();
  if (!d.make_data_dir() || !d.open_queue()) return 1;
  d.start_disk_guard();
  d.raise_open_file_limit();
  if (!d.load_tls_certificates() || !d.make_outbound_tls() || !d.load_users_file() ||
      !d.load_dkim_keys())
    return 1;
  d.make_shared_limits();
  d.make_shards();
  if (!d.start_mail_store()) return 1;
  d.make_pop3_shards();
  d.make_imap_shards();
  if (!d.start_metrics() || !d.start_admin() || !d.start_shards()) return 1;
  d.start_loader();
  d.announce_ready();

  d.wait_for_stop();

  // Shutdown, in this order.
  d.stop_metrics_and_admin();
  d.stop_loader();
  d.stop_accepting();
  d.wait_for_sessions();
  d.stop_delivery();
  d.stop_access();
  d.join_shards();
  d.stop_mail_store();
  d.stop_auth_workers();
  d.stop_dkim_workers();
  d.flush_queue();
  d.release_shards();
  return d.log_totals();
}

}  // namespace ringmta::daemon
