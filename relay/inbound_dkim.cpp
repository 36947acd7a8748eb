// relay/inbound_dkim.cpp — DKIM signing of an inbound message before its
// queue write ([[dkim]], dkim/signer.h), so the queue holds what is sent.
//
// Which messages: submitted by an authenticated user or from
// relay.trusted_networks, with a From: domain that has a [[dkim]] table.
// Signing (hashing the body, RSA or Ed25519) runs on the signing workers —
// RSA-2048 costs about a millisecond, far too much for a shard thread — and
// the result is posted back to this shard, which then writes the queue batch;
// the 250 still follows the durable write. While it is away the message stays
// charged to limits.inflight_memory (committing_size_), which bounds the
// work waiting for the workers. A signing failure is logged and counted and
// the message goes on unsigned (mail keeps flowing; the metric shows it).
#include <spdlog/spdlog.h>

#include <string>
#include <utility>

#include "base/clock.h"
#include "config/cidr.h"
#include "dkim/pool.h"
#include "dkim/signer.h"
#include "relay/inbound.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {

bool InboundSession::start_signing() {
  if (!shard_.dkim_signer || !shard_.dkim_pool) return false;
  smtp::Transaction& txn = session_->transaction();
  if (txn.auth_identity.empty() && !any_contains(shard_.config->relay.trusted_networks, client_)) return false;
  // Reads the header section only: cheap enough for the shard.
  const dkim::Signer::Domain* domain = shard_.dkim_signer->domain_for(txn.message);
  if (!domain) return false;

  std::shared_ptr<const dkim::Signer> signer = shard_.dkim_signer;
  engine::Reactor* reactor = &shard_.reactor;
  ShardContext* shard = &shard_;
  const uint64_t number = number_;
  const int64_t now = base::unix_ms() / 1000;
  std::string message = std::move(txn.message);
  txn.message.clear();
  // The task owns the message; on the worker it becomes signature + message.
  auto task = [signer, domain, reactor, shard, number, now, message = std::move(message)]() mutable {
    std::string error;
    auto field = signer->sign(*domain, message, now);
    if (field) {
      field->reserve(field->size() + message.size());
      field->append(message);
      message = std::move(field).value();
    } else {
      error = field.error();
    }
    // `signer` travels along: `domain` points into it.
    reactor->post([signer, domain, shard, number, message = std::move(message), error = std::move(error)]() mutable {
      auto it = shard->sessions.find(number);
      // The client went away meanwhile: nothing was promised, nothing is
      // queued (no 250 was sent; the client sends again).
      if (it != shard->sessions.end()) it->second->signing_finished(std::move(message), *domain, std::move(error));
    });
  };
  if (!shard_.dkim_pool->submit(std::move(task))) {
    // Only while stopping; the task (and the message it held) is gone.
    spdlog::error("{}: DKIM signing workers stopped; message not accepted", txn.queue_id);
    act(session_->commit_done(false, "451 4.3.2 Service shutting down, try again later"));
    return true;
  }
  return true;
}

void InboundSession::signing_finished(std::string message, const dkim::Signer::Domain& domain, std::string error) {
  smtp::Transaction& txn = session_->transaction();
  txn.message = std::move(message);
  if (error.empty()) {
    ++telemetry::local().dkim_signed[{domain.settings.domain, std::string(dkim::to_string(domain.key.algorithm()))}];
    dkim_signed_by_ = domain.settings.domain + "/" + domain.settings.selector;
  } else {
    ++telemetry::local().dkim_sign_failures;
    spdlog::error("{}: DKIM signing failed, the message goes on unsigned: {}", txn.queue_id, error);
  }
  write_to_queue();
}

}  // namespace ringmta::relay
