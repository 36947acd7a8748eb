// relay/inbound_commit.cpp — Action::Commit of an inbound session: the
// message goes to the queue as one batch, the commit thread's completion is
// posted back to this shard, and only then does the client get its 250 (or a
// 451/452 — never a 250 for data not on disk). A message to be DKIM-signed
// makes a detour through the signing workers first (inbound_dkim.cpp).
//
// Its own file because it is the durability hand-off: the only part of the
// inbound glue that crosses threads, builds the queue envelope and feeds the
// scheduler's in-memory fast path.
#include <spdlog/spdlog.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/clock.h"
#include "relay/envelope.h"
#include "relay/inbound.h"
#include "telemetry/metrics.h"
#include "relay/scheduler.h"

namespace ringmta::relay {

namespace {

// The reply for a failed durable write. Never a 250 for data not on disk.
std::string commit_error_reply(const queue::Status& status) {
  if (status.code == queue::Status::Code::NoSpace) return "452 4.3.1 Insufficient system storage";
  return "451 4.3.0 Error: queue file write error";
}

}  // namespace

void InboundSession::start_commit() {
  committing_size_ = session_->transaction().message.size();
  dkim_signed_by_.clear();
  // What is stored is what is sent: a DKIM signature is added before the write.
  if (start_signing()) return;
  write_to_queue();
}

void InboundSession::write_to_queue() {
  smtp::Transaction& txn = session_->transaction();
  const int64_t now_ms = base::unix_ms();
  queue::Batch batch;
  committing_size_ = txn.message.size();
  // Build the envelope before the message is moved out (argument evaluation
  // order is unspecified, so not in the same call).
  queue::Envelope envelope = make_envelope(txn, now_ms);
  envelope.client_address = client_.ip();
  // Ask the scheduler once before the write (Scheduler::Intake: written
  // already deferred when every destination is down here, or kept in memory
  // to deliver without a queue read) and once after it (below).
  Scheduler::Intake intake;
  std::shared_ptr<const std::string> body;
  std::shared_ptr<const queue::Envelope> env_copy;
  if (shard_.scheduler) intake = shard_.scheduler->before_commit(envelope, txn.message.size());
  if (intake.keep) {
    body = std::make_shared<const std::string>(txn.message);
    env_copy = std::make_shared<const queue::Envelope>(envelope);
  }
  batch.put_message(std::move(envelope), std::move(txn.message));
  txn.message.clear();

  // Completion runs on the commit thread: hop back to this shard, then find
  // the session by number (it may have gone away meanwhile).
  engine::Reactor* reactor = &shard_.reactor;
  ShardContext* shard = &shard_;
  const uint64_t number = number_;
  const engine::Clock::time_point handed = engine::Clock::now();
  shard_.queue.commit(std::move(batch), [reactor, shard, number, handed, body, env_copy,
                                         intake = std::move(intake)](queue::Status status) {
    reactor->post([shard, number, handed, status = std::move(status), body, env_copy, intake] {
      // One measurement for the metric and the "accepted" line's commit=.
      const std::chrono::duration<double> waited = engine::Clock::now() - handed;
      if (status.ok()) telemetry::local().smtp_commit.observe(waited.count());
      auto it = shard->sessions.find(number);
      if (it != shard->sessions.end()) {
        it->second->commit_finished(status, std::chrono::duration_cast<std::chrono::milliseconds>(waited));
      } else if (!status.ok()) {
        // The client vanished before hearing the result. The message is
        // queued (or not) all the same; delivery is at-least-once.
        ++shard->counters.commit_failures;
      }
      // After the "accepted" line: delivery lines (or the deferrals
      // recorded before the write) follow it in the log.
      if (status.ok() && shard->scheduler) shard->scheduler->after_commit(intake, env_copy.get(), body);
    });
  });
}

void InboundSession::commit_finished(const queue::Status& status, std::chrono::milliseconds waited) {
  const smtp::Transaction& txn = session_->transaction();
  if (status.ok()) {
    ++shard_.counters.messages_accepted;
    if (txn_started_ != engine::Clock::time_point{})
      telemetry::local().smtp_transaction.observe(
          std::chrono::duration<double>(engine::Clock::now() - txn_started_).count());
    txn_started_ = {};
    std::string rcpts;
    for (const auto& r : txn.recipients) {
      if (!rcpts.empty()) rcpts += ',';
      rcpts += '<';
      rcpts += r.address;
      rcpts += '>';
    }
    spdlog::info("{}: accepted client=[{}]:{}, from=<{}>, size={}, nrcpt={}, to={}, commit={}ms{}{}", txn.queue_id,
                 client_.ip(), client_.port(), txn.sender, committing_size_,
                 txn.recipients.size(), rcpts, waited.count(), dkim_signed_by_.empty() ? "" : ", dkim=",
                 dkim_signed_by_);
  } else {
    ++shard_.counters.commit_failures;
    spdlog::error("{}: queue write failed for client [{}]: {}", txn.queue_id, client_.ip(), status.message);
  }
  if (closing_) return;
  last_activity_ = engine::Clock::now();
  act(session_->commit_done(status.ok(), status.ok() ? std::string_view{} : commit_error_reply(status)));
}

}  // namespace ringmta::relay
