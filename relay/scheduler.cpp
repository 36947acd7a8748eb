// relay/scheduler.cpp — see scheduler.h. Activation and dispatch of jobs and
// the state writes; what an attempt's results do is in scheduler_outcome.cpp,
// the admin API in scheduler_admin.cpp.
#include "relay/scheduler.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>

#include "base/clock.h"
#include "relay/delivery_agent.h"
#include "relay/loader.h"
#include "telemetry/metrics.h"
#include "relay/routing.h"
#include "relay/shard.h"

namespace ringmta::relay {

namespace {


smtp::BodyType to_smtp(queue::BodyType b) {
  switch (b) {
    case queue::BodyType::SevenBit: return smtp::BodyType::SevenBit;
    case queue::BodyType::EightBitMime: return smtp::BodyType::EightBitMime;
    case queue::BodyType::BinaryMime: return smtp::BodyType::BinaryMime;
    default: return smtp::BodyType::Unspecified;
  }
}

smtp::Ret to_smtp(queue::Ret r) {
  switch (r) {
    case queue::Ret::Full: return smtp::Ret::Full;
    case queue::Ret::Headers: return smtp::Ret::Headers;
    default: return smtp::Ret::Unspecified;
  }
}

constexpr int64_t kRecentMs = 120'000;       // how long finished ids are remembered
constexpr uint64_t kRemoved = UINT64_MAX;

uint64_t total_attempts(const queue::Envelope& env) {
  uint64_t n = 0;
  for (const auto& r : env.recipients) n += r.attempts;
  return n;
}
constexpr int64_t kCommitRetryMs = 5'000;     // after a failed state write

}  // namespace

Scheduler::Scheduler(ShardContext& shard) : shard_(shard), rng_(std::random_device{}()) {
  const auto& q = shard_.config->queue;
  policy_.schedule = q.retry_schedule;
  policy_.max_lifetime = q.max_lifetime;
  policy_.delay_warning = q.delay_warning;
}

void Scheduler::submit_new(queue::Envelope env, std::shared_ptr<const std::string> body) {
  // Over the cap the message simply waits in the queue for the loader (its
  // schedule entry is one lease ahead): memory stays bounded under overload.
  if (stopping_ || !has_room(body ? body->size() : 0) || active_.count(env.id)) return;
  std::string id = env.id;
  Active& a = active_[id];
  a.env = std::move(env);
  a.body = std::move(body);
  body_bytes_ += a.body ? a.body->size() : 0;
  activate(a, INT64_MAX);
}

void Scheduler::adopt(queue::Envelope env, std::shared_ptr<const std::string> body, int64_t horizon_ms,
                      int64_t read_stamp_ms) {
  auto release = [&] {
    if (shard_.loader) shard_.loader->release(env.id);
  };
  if (stopping_) return release();
  if (auto seen = recent_.find(env.id);
      seen != recent_.end() && (total_attempts(env) < seen->second.attempts || (read_stamp_ms > 0 && read_stamp_ms <= seen->second.steady))) {
    return release();  // read before our last write (stale): the next poll reads it afresh
  }
  // An admin write (hold, delete, ...) is being committed: this copy predates it.
  if (admin_writing_.count(env.id)) return release();
  if (auto it = active_.find(env.id); it != active_.end()) {
    it->second.claimed = true;  // already being handled here: release when that ends
    return;
  }
  std::string id = env.id;
  Active& a = active_[id];
  a.env = std::move(env);
  a.body = std::move(body);
  body_bytes_ += a.body ? a.body->size() : 0;
  a.claimed = true;
  activate(a, horizon_ms);
}

void Scheduler::activate(Active& a, int64_t horizon_ms) {
  a.activation = next_activation_++;
  a.results.clear();
  a.postponed.clear();
  a.local = LocalRun{};
  a.remote_later.clear();
  // Held by the administrator: never attempted (the queue has no schedule
  // entry for it; this guards copies that were on their way meanwhile).
  if (a.env.flags & queue::kFlagHeld) {
    forget(a.env.id, total_attempts(a.env));
    return;
  }
  // Group the due recipients by domain, in envelope order.
  std::map<std::string, std::vector<uint32_t>> by_domain;
  for (uint32_t i = 0; i < a.env.recipients.size(); ++i) {
    const queue::Recipient& r = a.env.recipients[i];
    if (r.state != queue::RecipientState::Pending || r.next_attempt_ms > horizon_ms) continue;
    std::string domain = mail::recipient_domain(r.address);
    if (suspended_.count(domain)) {
      a.postponed.push_back(i);
      continue;
    }
    if (is_local_domain(domain)) {
      plan_local(a.env, i, a.local);
      continue;
    }
    by_domain[std::move(domain)].push_back(i);
  }
  if (by_domain.empty() && a.local.empty()) {
    if (a.postponed.empty()) {
      forget(a.env.id, total_attempts(a.env));
      return;
    }
    // Only suspended destinations are due: write their new next attempt.
    a.updated = a.env;
    postpone_suspended(a, base::unix_ms());
    a.finished = false;
    a.notices.clear();
    a.committing = true;
    commit(a.env.id);
    return;
  }
  // One job per domain; the delivery agent splits it into SMTP transactions
  // (delivery.max_recipients_per_transaction) — the one place that does.
  std::vector<DeliveryJob> jobs;
  for (auto& [domain, indices] : by_domain) {
    DeliveryJob job;
    job.id = a.env.id;
    job.owner_shard = shard_.reactor.shard_id();
    job.activation = a.activation;
    job.domain = domain;
    job.body = a.body;
    job.arrival_ms = a.env.arrival_ms;
    smtp::OutboundEnvelope& oe = job.envelope;
    oe.sender = a.env.sender;
    oe.size = a.body->size();
    oe.body = to_smtp(a.env.body_type);
    oe.smtputf8 = a.env.smtputf8;
    oe.ret = to_smtp(a.env.ret);
    oe.envid = a.env.envid;
    for (uint32_t index : indices) {
      const queue::Recipient& r = a.env.recipients[index];
      oe.recipients.push_back(smtp::Recipient{r.address, r.orcpt, r.notify});
      job.indices.push_back(index);
    }
    jobs.push_back(std::move(job));
  }
  if (!a.local.empty()) {
    // Mailboxes first: their outcome is written before the remote jobs go
    // out, so a user's mailbox waits for one local write, never for a slow
    // remote server (its changes are serialised until that write ends).
    a.remote_later = std::move(jobs);
    a.outstanding = 1;
    start_local(a);
    return;
  }
  a.outstanding = jobs.size();
  for (DeliveryJob& job : jobs) dispatch(std::move(job));
}

unsigned Scheduler::delivering_shard(const std::string& domain) const {
  // The relayhost is served by every shard itself (no hop); other
  // destinations by the one shard that owns them (its cap needs no locks).
  const std::string key = route_key(shard_.config->delivery, domain);
  return key == "relayhost" ? shard_.reactor.shard_id()
                            : destination_shard(key, static_cast<unsigned>(shard_.peers->size()));
}

void Scheduler::dispatch(DeliveryJob job) {
  const auto& peers = *shard_.peers;
  const unsigned self = shard_.reactor.shard_id();
  const unsigned target = delivering_shard(job.domain);
  ShardContext* owner = peers[self];
  auto done = [owner](JobResult r) {
    owner->reactor.post([owner, r = std::move(r)]() mutable {
      if (owner->scheduler) owner->scheduler->on_result(std::move(r));
    });
  };
  ShardContext* dest = peers[target];
  if (target == self) {
    shard_.agent->submit(std::move(job), std::move(done));
    return;
  }
  dest->reactor.post([dest, job = std::move(job), done = std::move(done)]() mutable {
    if (dest->agent) dest->agent->submit(std::move(job), std::move(done));
    // Without an agent (shutting down) the job is dropped: its message stays
    // in memory until the daemon stops, and is attempted again after restart.
  });
}

void Scheduler::on_result(JobResult result) {
  auto it = active_.find(result.id);
  if (it == active_.end() || it->second.activation != result.activation || it->second.committing) return;
  Active& a = it->second;
  a.results.push_back(std::move(result));
  if (--a.outstanding == 0) complete(a);
}

void Scheduler::commit(const std::string& id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  Active& a = it->second;
  queue::Batch batch;
  // An outcome (and the notices born with it) need not wait for an fsync:
  // see Batch::set_needs_sync. Losing it to an OS crash means a retry.
  batch.set_needs_sync(false);
  for (const auto& [kind, n] : a.notices) batch.put_message(n.envelope, n.body);
  add_local_ops(a, batch);
  if (a.finished) {
    batch.remove_message(a.env);
  } else {
    batch.update_envelope(a.env, a.updated);
  }
  engine::Reactor* reactor = &shard_.reactor;
  ShardContext* shard = &shard_;
  const uint64_t activation = a.activation;
  shard_.queue.commit(std::move(batch), [reactor, shard, id, activation](queue::Status status) {
    reactor->post([shard, id, activation, status = std::move(status)] {
      if (shard->scheduler) shard->scheduler->on_committed(id, activation, status);
    });
  });
}

void Scheduler::on_committed(const std::string& id, uint64_t activation, const queue::Status& status) {
  auto it = active_.find(id);
  if (it == active_.end() || it->second.activation != activation) return;
  Active& a = it->second;
  if (a.local.active) {
    end_local(a, status.ok());
    if (!status.ok()) {
      // The mailbox appends went with it: nothing was delivered, and the
      // users' changes are over. Not written again (its ops are gone): the
      // message stays as last written and is attempted again when due.
      spdlog::error("{}: cannot write the local delivery: {} (attempted again later)", id, status.message);
      forget(id, total_attempts(a.env));
      // Admin operations that waited: the admin thread reads the message again.
      if (waiting_.count(id)) run_waiting(id, nullptr, nullptr);
      return;
    }
  }
  if (!status.ok()) {
    // The outcome is not on disk. Write it again later rather than deliver
    // again now (a full disk would otherwise mean a delivery per second).
    spdlog::error("{}: cannot write delivery state: {} (retrying in {}s)", id, status.message, kCommitRetryMs / 1000);
    // Through the shard context, not `this`: the scheduler may be gone
    // (shutdown) before the timer fires.
    ShardContext* shard = &shard_;
    shard_.reactor.add_timer(std::chrono::milliseconds(kCommitRetryMs), [shard, id, activation] {
      if (shard->scheduler) shard->scheduler->retry_commit(id, activation);
    });
    return;
  }
  auto notices = std::move(a.notices);
  const bool finished = a.finished;
  for (const auto& [kind, n] : notices) {
    const char* what = kind == Notice::Delayed ? "delay" : kind == Notice::Failed ? "non-delivery" : "delivery status";
    spdlog::info("{}: sender {} notification: {}", id, what, n.envelope.id);
    ++shard_.counters.notices_generated;
    if (kind == Notice::Failed) ++telemetry::local().bounces_generated;
  }
  if (finished) spdlog::info("{}: removed", id);
  // Admin operations that waited for this attempt apply to what was written.
  std::optional<queue::Envelope> latest;
  std::shared_ptr<const std::string> latest_body;
  if (waiting_.count(id)) {
    if (!finished) latest = a.updated;
    latest_body = a.body;
  }
  if (!finished && !a.remote_later.empty()) {
    // The local part is written; now the other destinations (activate()).
    a.env = a.updated;
    a.committing = false;
    a.results.clear();
    a.postponed.clear();
    a.local = LocalRun{};
    std::vector<DeliveryJob> jobs = std::move(a.remote_later);
    a.remote_later.clear();
    a.outstanding = jobs.size();
    for (auto& [kind, n] : notices) {
      auto body = std::make_shared<const std::string>(std::move(n.body));
      submit_new(std::move(n.envelope), std::move(body));
    }
    for (DeliveryJob& job : jobs) dispatch(std::move(job));
    return;
  }
  forget(id, finished ? kRemoved : total_attempts(a.updated));
  for (auto& [kind, n] : notices) {
    auto body = std::make_shared<const std::string>(std::move(n.body));
    submit_new(std::move(n.envelope), std::move(body));
  }
  if (waiting_.count(id)) run_waiting(id, latest ? &*latest : nullptr, std::move(latest_body));
}

void Scheduler::retry_commit(const std::string& id, uint64_t activation) {
  auto it = active_.find(id);
  if (it != active_.end() && it->second.activation == activation) commit(id);
}

void Scheduler::forget(const std::string& id, uint64_t attempts_written) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  if (it->second.claimed && shard_.loader) shard_.loader->release(id);
  body_bytes_ -= it->second.body ? it->second.body->size() : 0;
  active_.erase(it);
  remember(id, attempts_written);
}

void Scheduler::remember(const std::string& id, uint64_t attempts_written) {
  const int64_t now = base::unix_ms();
  recent_[id] = Recent{attempts_written, now, steady_ms()};
  recent_order_.emplace_back(now, id);
  while (!recent_order_.empty() && recent_order_.front().first < now - kRecentMs) {
    // An id may be in the order more than once: only its newest entry erases it.
    auto& [when, old] = recent_order_.front();
    if (auto r = recent_.find(old); r != recent_.end() && r->second.when == when) recent_.erase(r);
    recent_order_.pop_front();
  }
}

void Scheduler::shutdown() { stopping_ = true; }

}  // namespace ringmta::relay
