// daemon/daemon_parts.h — the small pieces the daemon's start-up and shutdown
// steps (daemon.cpp, class Daemon) are made of: settings derived from the
// configuration, signal and descriptor set-up, and what the shutdown asks of
// every shard. Kept apart so daemon.cpp reads as the sequence of steps.
#pragma once

#include <signal.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

#include "config/config.h"
#include "proto/smtp/server_session.h"
#include "relay/shard.h"
#include "relay/shard_ask.h"
#include "tls/tls.h"

namespace ringmta::daemon {

// The SMTP server settings every inbound session shares, from the configuration.
std::shared_ptr<const smtp::ServerConfig> make_smtp_config(const config::Config& config);

// The certificate files for inbound TLS: tls.certificate/private_key, or a
// self-signed pair for server.hostname in data_dir (created on first start).
// Empty optional (and a logged error) when the self-signed pair cannot be made.
std::optional<tls::ServerOptions> tls_options(const config::Config& config, bool log_self_signed);

// Signals are taken synchronously by the main thread (sigwait on the returned
// set); every thread started later (shards, commit thread, logger) inherits
// the blocked mask. SIGPIPE is ignored.
sigset_t block_signals();

// Every connection is a descriptor: lift the soft RLIMIT_NOFILE to the hard
// limit (the engine expects this before start()). Not fatal if refused.
void raise_fd_limit();

// Run `fn(shard context)` on every shard and wait, with no deadline, until
// all have run it: shutdown steps that must have happened on every shard
// before the next begins. Off the hot path, from the main thread only.
template <typename Fn>
void on_every_shard(const std::vector<relay::ShardContext*>& peers, Fn fn) {
  relay::ask_shards(peers, std::move(fn), engine::kNoDeadline);
}

// Open connections on all shards together.
size_t count_connections(const std::vector<relay::ShardContext*>& peers);

// Ask every session of this shard to finish (idle ones get 421 at once), or
// abort them all (`hard`). On the shard's own thread.
void shut_sessions(relay::ShardContext& ctx, bool hard);

}  // namespace ringmta::daemon
