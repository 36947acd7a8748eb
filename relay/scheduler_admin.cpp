// relay/scheduler_admin.cpp — the owner shard's side of the admin API
// (relay/admin_action.h): flush, hold, release, delete and bounce of one
// message, destination suspension, and the list of messages in flight.
//
// Everything runs on the shard thread. The rules that keep the owner the
// only writer without locks:
//  - a message with a delivery attempt or an admin write running (active_,
//    admin_writing_) gets the action queued in waiting_; it is applied to the
//    state that attempt/write committed, right after the commit;
//  - otherwise the admin thread's copy is used, unless this shard wrote the
//    message after that copy was read (recent_[id].steady): then Stale, and
//    the admin thread reads again;
//  - each action is one queue batch (a bounce: the failed recipients, the
//    DSN and the removal together), and its reply is sent once it is durable.
#include <spdlog/spdlog.h>

#include <chrono>

#include "base/clock.h"
#include "relay/loader.h"
#include "relay/routing.h"
#include "relay/scheduler.h"
#include "relay/shard.h"

namespace ringmta::relay {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

namespace {


uint64_t total_attempts(const queue::Envelope& env) {
  uint64_t n = 0;
  for (const auto& r : env.recipients) n += r.attempts;
  return n;
}

constexpr uint64_t kRemoved = UINT64_MAX;  // as in scheduler.cpp
constexpr int64_t kMaxReadAgeMs = 60'000;  // an older admin copy is read again

bool selected(const AdminAction& action, const queue::Recipient& r) {
  return r.state == queue::RecipientState::Pending &&
         (action.domain.empty() || mail::recipient_domain(r.address) == action.domain);
}

}  // namespace

void Scheduler::admin_apply(AdminAction action, queue::Envelope env, std::shared_ptr<const std::string> body,
                            int64_t read_stamp_ms, AdminReply reply) {
  if (stopping_) return reply({AdminOutcome::Code::Failed, "the daemon is shutting down"});
  const std::string id = env.id;
  if (active_.count(id) || admin_writing_.count(id)) {
    waiting_[id].push_back({std::move(action), std::move(reply)});
    return;
  }
  if (auto seen = recent_.find(id); seen != recent_.end()) {
    if (seen->second.attempts == kRemoved && read_stamp_ms > seen->second.steady)
      return reply({AdminOutcome::Code::NotFound, "no longer in the queue"});
    if (read_stamp_ms <= seen->second.steady) return reply({AdminOutcome::Code::Stale, ""});
  }
  if (read_stamp_ms < steady_ms() - kMaxReadAgeMs) return reply({AdminOutcome::Code::Stale, ""});
  admin_now(action, env, std::move(body), std::move(reply));
}

void Scheduler::admin_now(const AdminAction& action, const queue::Envelope& env,
                          std::shared_ptr<const std::string> body, AdminReply reply) {
  const int64_t now = base::unix_ms();
  queue::Envelope updated = env;
  bool remove = false;
  std::string what;                 // the reply and the log line
  std::vector<std::string> lines;   // per-recipient log lines (bounce)
  std::vector<NoticeMessage> notices;
  switch (action.kind) {
    case AdminAction::Kind::Flush: {
      if (env.flags & queue::kFlagHeld) return reply({AdminOutcome::Code::Unchanged, "held (release it first)"});
      size_t n = 0;
      for (auto& r : updated.recipients) {
        if (!selected(action, r)) continue;
        if (r.next_attempt_ms > now) r.next_attempt_ms = now;
        ++n;
      }
      if (n == 0) return reply({AdminOutcome::Code::Unchanged, "no pending recipient to flush"});
      what = "flushed by the administrator (" + std::to_string(n) + " recipient(s) due now)";
      break;
    }
    case AdminAction::Kind::Hold:
      if (env.flags & queue::kFlagHeld) return reply({AdminOutcome::Code::Unchanged, "already held"});
      updated.flags |= queue::kFlagHeld;
      what = "held by the administrator";
      break;
    case AdminAction::Kind::Release:
      if (!(env.flags & queue::kFlagHeld)) return reply({AdminOutcome::Code::Unchanged, "not held"});
      updated.flags &= ~static_cast<uint32_t>(queue::kFlagHeld);
      what = "released by the administrator";
      break;
    case AdminAction::Kind::Delete:
      remove = true;
      what = "deleted by the administrator";
      break;
    case AdminAction::Kind::Bounce: {
      if (!body) return reply({AdminOutcome::Code::Failed, "internal error: bounce without the message body"});
      const std::string text = "bounced by the administrator: " + action.reason;
      std::vector<NoticeEntry> entries;
      size_t n = 0;
      const bool null_sender = env.sender.empty() || (env.flags & queue::kFlagBounce);
      for (uint32_t i = 0; i < updated.recipients.size(); ++i) {
        queue::Recipient& r = updated.recipients[i];
        if (!selected(action, r)) continue;
        r.state = queue::RecipientState::Failed;
        r.last_reply = text;
        r.last_attempt_ms = now;
        ++n;
        // The same line as a delivery attempt's, so log tools count it.
        lines.push_back(fmt::format("{}: to=<{}>, relay=none, delay={:.2f}, dsn=5.0.0, status=bounced ({})", env.id,
                                    r.address, static_cast<double>(now - env.arrival_ms) / 1000.0, text));
        if (null_sender || !notify_wants(r.notify, Notice::Failed)) continue;
        NoticeEntry e;
        e.index = i;
        e.status = "5.0.0";
        e.diagnostic = text;
        e.attempt_ms = now;
        entries.push_back(std::move(e));
      }
      if (n == 0)
        return reply({AdminOutcome::Code::Unchanged, "no pending recipient to bounce"});
      if (!entries.empty()) {
        NoticeParams p;
        p.reporting_mta = shard_.config->server.hostname;
        p.notice_id = shard_.ids.next();
        p.now_ms = now;
        std::string error;
        auto notice = make_notice(env, *body, Notice::Failed, entries, p, &error);
        if (!notice) return reply({AdminOutcome::Code::Failed, "cannot build the DSN: " + error});
        notices.push_back(std::move(*notice));
      }
      remove = true;
      for (const auto& r : updated.recipients) remove &= r.state != queue::RecipientState::Pending;
      what = "bounced by the administrator (" + std::to_string(n) + " recipient(s))";
      break;
    }
  }

  queue::Batch batch;
  for (const auto& n : notices) batch.put_message(n.envelope, n.body);
  if (remove) {
    batch.remove_message(env);
  } else {
    batch.update_envelope(env, updated);
  }
  const std::string id = env.id;
  admin_writing_.insert(id);
  engine::Reactor* reactor = &shard_.reactor;
  ShardContext* shard = &shard_;
  // The state written travels with the callback: waiting actions apply to it.
  auto written = std::make_shared<queue::Envelope>(remove ? env : std::move(updated));
  auto carried = std::make_shared<std::vector<NoticeMessage>>(std::move(notices));
  auto carried_lines = std::make_shared<std::vector<std::string>>(std::move(lines));
  auto reply_ptr = std::make_shared<AdminReply>(std::move(reply));
  shard_.queue.commit(std::move(batch), [=](queue::Status status) {
    reactor->post([=, status = std::move(status)] {
      if (shard->scheduler) {
        shard->scheduler->admin_committed(id, *written, remove, std::move(*carried), *carried_lines, body, status,
                                          std::move(*reply_ptr), what);
      }
    });
  });
}

void Scheduler::admin_committed(const std::string& id, const queue::Envelope& written, bool removed,
                                std::vector<NoticeMessage> notices, const std::vector<std::string>& lines,
                                std::shared_ptr<const std::string> body,
                                const queue::Status& status, AdminReply reply, const std::string& what) {
  admin_writing_.erase(id);
  if (!status.ok()) {
    spdlog::error("{}: admin change not written: {}", id, status.message);
    reply({AdminOutcome::Code::Failed, "queue write failed: " + status.message});
    // Nothing changed on disk: waiting actions go back to the admin thread to retry.
    if (waiting_.count(id)) run_waiting(id, nullptr, nullptr);
    return;
  }
  // Reads started before now are stale; a removed message must not come back.
  remember(id, removed ? kRemoved : total_attempts(written));
  for (const auto& line : lines) {
    spdlog::info("{}", line);
    ++shard_.counters.recipients_bounced;
  }
  spdlog::info("{}: {}", id, what);
  for (const auto& n : notices) {
    spdlog::info("{}: sender non-delivery notification: {}", id, n.envelope.id);
    ++shard_.counters.notices_generated;
  }
  if (removed) spdlog::info("{}: removed", id);
  reply({AdminOutcome::Code::Done, what});
  for (auto& n : notices) {
    auto nbody = std::make_shared<const std::string>(std::move(n.body));
    submit_new(std::move(n.envelope), std::move(nbody));
  }
  if (waiting_.count(id)) run_waiting(id, removed ? nullptr : &written, std::move(body));
}

void Scheduler::run_waiting(const std::string& id, const queue::Envelope* latest,
                            std::shared_ptr<const std::string> body) {
  auto node = waiting_.extract(id);
  if (node.empty()) return;
  std::vector<WaitingAdmin> list = std::move(node.mapped());
  if (!latest) {
    // Removed (delivered, bounced, deleted) — or, after a failed write, unknown:
    // the admin thread reads again and finds out which.
    for (auto& w : list) w.reply({AdminOutcome::Code::Stale, ""});
    return;
  }
  // The first action starts a write; the rest wait for it in turn.
  const AdminAction first = list.front().action;
  AdminReply first_reply = std::move(list.front().reply);
  list.erase(list.begin());
  if (!list.empty()) waiting_[id] = std::move(list);
  if (first.kind == AdminAction::Kind::Bounce && !body) {
    first_reply({AdminOutcome::Code::Stale, ""});
    if (waiting_.count(id)) run_waiting(id, latest, nullptr);
    return;
  }
  admin_now(first, *latest, std::move(body), std::move(first_reply));
  // admin_now may answer without writing (Unchanged): then the rest go now.
  if (!admin_writing_.count(id) && waiting_.count(id)) run_waiting(id, latest, nullptr);
}

void Scheduler::postpone_suspended(Active& a, int64_t now_ms) {
  if (a.postponed.empty()) return;
  const int64_t delay = std::chrono::duration_cast<std::chrono::milliseconds>(retry_delay(policy_, 1)).count();
  for (uint32_t idx : a.postponed) {
    if (idx >= a.updated.recipients.size()) continue;
    queue::Recipient& r = a.updated.recipients[idx];
    r.next_attempt_ms = now_ms + delay;
    spdlog::info("{}: to=<{}>: destination {} is suspended; not attempted, next check in {}s", a.env.id, r.address,
                 mail::recipient_domain(r.address), delay / 1000);
  }
}

void Scheduler::set_suspended(const std::string& domain, bool suspended) {
  if (suspended) {
    suspended_.insert(domain);
  } else {
    suspended_.erase(domain);
  }
}

std::vector<std::string> Scheduler::in_flight() const {
  std::vector<std::string> out;
  out.reserve(active_.size() + admin_writing_.size());
  for (const auto& [id, a] : active_) out.push_back(id);
  for (const auto& id : admin_writing_) out.push_back(id);
  return out;
}

}  // namespace ringmta::relay
