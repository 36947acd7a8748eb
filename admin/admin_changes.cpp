// admin/admin_changes.cpp — the admin API's changes: flush, hold, release,
// delete and bounce by ID or selector, and destination suspend/resume.
//
// For each message the admin thread reads the envelope (and the body for a
// bounce), notes when (steady_ms), and posts the action to the owner shard
// (queue_id_shard(id) % shards), which applies it and commits (see
// Scheduler::admin_apply). "Stale" answers mean the shard wrote the message
// after our read: read again (bounded tries). Up to kWindow messages are
// in flight, so large selections share group commits.
//
// A flush first makes every shard's delivery agent forget its down
// destinations (delivery.destination_down_time) — with --domain only that
// domain's — as Postfix's postqueue -f flushes dead destinations: otherwise
// the flushed mail would be deferred at once, untried.
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>

#include "queue/queue_id.h"
#include "admin/admin_server.h"
#include "base/clock.h"
#include "relay/delivery_agent.h"
#include "relay/loader.h"
#include "relay/scheduler.h"
#include "relay/shard.h"
#include "relay/shard_ask.h"

namespace ringmta::admin {

// The relay types this file wires together.
using relay::AdminAction;
using relay::AdminOutcome;

namespace {

constexpr size_t kWindow = 256;             // changes in flight at once
constexpr int kMaxTries = 20;               // reads per message when it keeps changing
constexpr auto kOpTimeout = std::chrono::seconds(10);


base::json::Value error_response(const std::string& message) {
  base::json::Value v = base::json::Value::object();
  v.set("ok", false);
  v.set("error", message);
  return v;
}

AdminAction::Kind kind_of(admin::Command c) {
  switch (c) {
    case admin::Command::Hold: return AdminAction::Kind::Hold;
    case admin::Command::Release: return AdminAction::Kind::Release;
    case admin::Command::Delete: return AdminAction::Kind::Delete;
    case admin::Command::Bounce: return AdminAction::Kind::Bounce;
    default: return AdminAction::Kind::Flush;
  }
}

// Answers from the shards, handed to the admin thread.
struct Inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::tuple<size_t, uint64_t, relay::AdminOutcome>> done;  // (slot, generation, outcome)
};

// Every shard's agent forgets its down destinations (all, or `domain`'s);
// waits for the answers, so the flush that follows finds them forgotten.
// Returns how many were forgotten (shards that do not answer in time: 0).
size_t forget_down_destinations(const std::vector<ShardContext*>& peers, const std::string& domain) {
  size_t n = 0;
  for (const auto& answer : relay::ask_shards(peers, [domain](ShardContext& ctx) {
         return ctx.agent ? ctx.agent->forget_down_destinations(domain) : size_t{0};
       }))
    n += answer.value_or(0);
  return n;
}

}  // namespace

std::vector<std::string> AdminServer::select(const admin::Selector& sel, std::vector<std::string>* missing,
                                             std::string* error) {
  (void)missing;
  if (!sel.ids.empty()) return sel.ids;  // existence is found out when each is read
  const auto flying = in_flight();
  const int64_t now = base::unix_ms();
  std::vector<std::string> ids;
  auto st = hooks_.queue->scan([&](const queue::Envelope& e) {
    if (admin::matches(sel, e, admin::message_state(e, now, flying.count(e.id) > 0))) ids.push_back(e.id);
    return !stopping_.load();
  });
  if (!st.ok()) *error = "queue scan failed: " + st.message;
  return ids;
}

base::json::Value AdminServer::do_change(const admin::Request& req) {
  size_t down_forgotten = 0;
  if (req.command == admin::Command::Flush && hooks_.peers) {
    // With --domain only that domain's recipients are flushed; otherwise
    // (IDs, --all, --sender) any destination may be involved: forget all.
    down_forgotten = forget_down_destinations(*hooks_.peers, req.selector.domain);
  }
  std::string error;
  std::vector<std::string> ids = select(req.selector, nullptr, &error);
  if (!error.empty()) return error_response(error);
  const bool explicit_ids = !req.selector.ids.empty();

  relay::AdminAction action;
  action.kind = kind_of(req.command);
  if (action.kind == AdminAction::Kind::Flush || action.kind == AdminAction::Kind::Bounce)
    action.domain = req.selector.domain;
  action.reason = req.reason;
  const bool need_body = action.kind == AdminAction::Kind::Bounce;

  struct Slot {
    uint64_t generation = 0;
    int tries = 0;
    bool open = false;
    std::chrono::steady_clock::time_point deadline;
  };
  std::vector<Slot> slots(ids.size());
  auto inbox = std::make_shared<Inbox>();
  base::json::Value done = base::json::Value::array(), unchanged = base::json::Value::array(), not_found = base::json::Value::array(),
              pending = base::json::Value::array(), failed = base::json::Value::array();
  auto note = [](base::json::Value& list, const std::string& id, const std::string& why) {
    base::json::Value o = base::json::Value::object();
    o.set("id", id);
    o.set("reason", why);
    list.push(std::move(o));
  };
  const auto& peers = *hooks_.peers;
  size_t open = 0;

  // Read message i and post the action to its owner; false if it ended here.
  auto launch = [&](size_t i) {
    const std::string& id = ids[i];
    Slot& slot = slots[i];
    ++slot.tries;
    ++slot.generation;
    queue::Envelope env;
    std::shared_ptr<std::string> body;
    const int64_t stamp = relay::steady_ms();
    auto st = hooks_.queue->read_envelope(id, env);
    if (st.ok() && need_body) {
      body = std::make_shared<std::string>();
      st = hooks_.queue->read_body(id, *body);
    }
    if (st.code == queue::Status::Code::NotFound) {
      not_found.push(id);
      return;
    }
    if (!st.ok()) {
      note(failed, id, "cannot read it: " + st.message);
      return;
    }
    ShardContext* ctx = peers[queue::queue_id_shard(id).value_or(0) % peers.size()];
    const uint64_t generation = slot.generation;
    slot.open = true;
    slot.deadline = std::chrono::steady_clock::now() + kOpTimeout;
    ++open;
    relay::AdminReply reply = [inbox, i, generation](AdminOutcome o) {
      {
        std::lock_guard lock(inbox->mu);
        inbox->done.emplace_back(i, generation, std::move(o));
      }
      inbox->cv.notify_one();
    };
    ctx->reactor.post([ctx, action, env = std::move(env), body = std::shared_ptr<const std::string>(std::move(body)),
                       stamp, reply = std::move(reply)]() mutable {
      if (!ctx->scheduler) return reply({AdminOutcome::Code::Failed, "the daemon is shutting down"});
      ctx->scheduler->admin_apply(std::move(action), std::move(env), std::move(body), stamp, std::move(reply));
    });
  };

  size_t next = 0;
  while (next < ids.size() || open > 0) {
    while (open < kWindow && next < ids.size()) launch(next++);
    std::deque<std::tuple<size_t, uint64_t, relay::AdminOutcome>> answers;
    {
      std::unique_lock lock(inbox->mu);
      inbox->cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return !inbox->done.empty(); });
      answers.swap(inbox->done);
    }
    for (auto& [i, generation, outcome] : answers) {
      Slot& slot = slots[i];
      if (!slot.open || slot.generation != generation) continue;  // timed out earlier
      slot.open = false;
      --open;
      const std::string& id = ids[i];
      switch (outcome.code) {
        case AdminOutcome::Code::Done: done.push(id); break;
        case AdminOutcome::Code::Unchanged: note(unchanged, id, outcome.detail); break;
        case AdminOutcome::Code::NotFound: not_found.push(id); break;
        case AdminOutcome::Code::Failed: note(failed, id, outcome.detail); break;
        case AdminOutcome::Code::Stale:
          if (slot.tries < kMaxTries) {
            launch(i);
          } else {
            note(failed, id, "it kept changing; try again");
          }
          break;
      }
    }
    const auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < slots.size(); ++i) {
      if (!slots[i].open || (now < slots[i].deadline && !stopping_.load())) continue;
      slots[i].open = false;
      --open;
      if (stopping_.load()) {
        note(failed, ids[i], "the daemon is shutting down");
      } else {
        pending.push(ids[i]);  // waits for a running delivery attempt; applied after it
      }
    }
    if (stopping_.load()) {
      for (; next < ids.size(); ++next) note(failed, ids[next], "the daemon is shutting down");
    }
  }
  if ((action.kind == AdminAction::Kind::Flush || action.kind == AdminAction::Kind::Release) &&
      !done.items().empty() && hooks_.loader) {
    hooks_.loader->wake();  // due now: do not wait for the next poll
  }

  base::json::Value v = base::json::Value::object();
  const bool ok = failed.items().empty() && (!explicit_ids || not_found.items().empty());
  v.set("ok", ok);
  if (!ok) {
    v.set("error", !failed.items().empty() ? std::to_string(failed.items().size()) + " message(s) failed"
                                           : "no message with queue ID " + not_found.items().front().as_string());
  }
  v.set("matched", static_cast<uint64_t>(ids.size()));
  if (action.kind == AdminAction::Kind::Flush) v.set("down_destinations_forgotten", static_cast<uint64_t>(down_forgotten));
  v.set("done", std::move(done));
  v.set("unchanged", std::move(unchanged));
  v.set("not_found", std::move(not_found));
  v.set("pending", std::move(pending));
  v.set("failed", std::move(failed));
  return v;
}

base::json::Value AdminServer::do_suspend(const std::string& domain, bool suspend) {
  const auto answers = relay::ask_shards(*hooks_.peers, [domain, suspend](ShardContext& ctx) {
    if (ctx.scheduler) ctx.scheduler->set_suspended(domain, suspend);
    return true;
  });
  for (const auto& answer : answers) {
    if (!answer) return error_response("a shard did not answer within 5s; the change may be partial, repeat it");
  }
  {
    std::lock_guard lock(mu_);
    if (suspend) {
      suspended_.insert(domain);
    } else {
      suspended_.erase(domain);
    }
  }
  spdlog::info("destination {} {} by the administrator", domain, suspend ? "suspended" : "resumed");
  base::json::Value v = base::json::Value::object();
  v.set("ok", true);
  v.set("domain", domain);
  v.set("suspended", suspend);
  if (!suspend) {
    // Its messages were postponed while suspended: make them due now.
    admin::Request flush;
    flush.command = admin::Command::Flush;
    flush.selector.domain = domain;
    base::json::Value f = do_change(flush);
    const base::json::Value* d = f.get("done");
    v.set("flushed", static_cast<uint64_t>(d ? d->items().size() : 0));
  }
  return v;
}

}  // namespace ringmta::admin
