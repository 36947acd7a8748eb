// daemon/daemon_parts.cpp — see daemon_parts.h.
#include "daemon/daemon_parts.h"

#include <sys/resource.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "relay/inbound.h"

namespace ringmta::daemon {

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

void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("cannot raise the open-file limit from {}: {}", before, std::strerror(errno));
  }
}

size_t count_connections(const std::vector<relay::ShardContext*>& peers) {
  size_t total = 0;
  for (const auto& n : relay::ask_shards(
           peers, [](relay::ShardContext& ctx) { return ctx.reactor.connection_count(); }, engine::kNoDeadline)) {
    total += n.value_or(0);
  }
  return total;
}

void shut_sessions(relay::ShardContext& ctx, bool hard) {
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

}  // namespace ringmta::daemon
