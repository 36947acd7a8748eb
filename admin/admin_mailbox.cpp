// admin/admin_mailbox.cpp — the admin API's mail store changes
// (admin/mailbox_protocol.h): mailbox_append (ringmtactl mailbox import)
// and mailbox_purge.
//
// Every write to a user goes through the user's owner shard
// (mailbox::Service::change), so an import never races a local delivery or
// a POP3 QUIT of the same user. The admin client thread does the slow,
// pure work first — decoding, the MIME structure of each body (stored with
// it for IMAP), fresh body ids — then posts one change to the owner shard,
// which appends every message of the request into one Batch with their
// bodies (put_body: an imported body is in no queue message, store.h
// "Bodies"), commits it (synced) and answers. The thread waits for that
// answer with a timeout; a change that is still running then is reported
// as such (it completes or fails on its own; the store stays consistent).
//
// Stages (mailbox_stage): a message too big for one request line arrives in
// parts, kept here until an append takes it. The daemon has one admin API,
// so the stages are this file's: bounded per stage and in total, and a
// stage nobody touched for kStageIdle is dropped at the next stage request.
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

#include "admin/admin_server.h"
#include "base/clock.h"
#include "mail/mime.h"
#include "mailbox/service.h"
#include "queue/queue_id.h"
#include "relay/shard.h"

namespace ringmta::admin {
namespace {

constexpr auto kMailboxTimeout = std::chrono::seconds(120);
// Body ids of imported messages are queue IDs from this generator: its shard
// number is one no shard has (ids are unique per generator), and each id is
// checked to be unused before it is given out (a clock that went back across
// a restart cannot make an import reuse a body id).
constexpr unsigned kImportIdShard = (1u << queue::QueueIdGenerator::kShardBits) - 1;

base::json::Value error_response(const std::string& message) {
  base::json::Value v = base::json::Value::object();
  v.set("ok", false);
  v.set("error", message);
  return v;
}

// The answer of a change on a shard, handed to the waiting admin thread.
struct Answer {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  base::json::Value reply;

  void set(base::json::Value v) {
    {
      std::lock_guard lock(mu);
      reply = std::move(v);
      done = true;
    }
    cv.notify_all();
  }
};

std::string status_text(const queue::Status& st) { return st.message.empty() ? "error" : st.message; }

// The POP3 maildrop lock's holder while a purge commits (service.h: shard
// id in the top 16 bits; no shard has this one), so no POP3 session opens
// on mail being removed, and a purge never pulls mail from under one.
constexpr uint64_t kPurgeLockHolder = 0xFFFFull << 48;

constexpr auto kStageIdle = std::chrono::minutes(10);
constexpr size_t kMaxStagedTotal = 2 * kMaxStagedBytes;

struct Stages {
  struct Entry {
    std::string data;
    std::chrono::steady_clock::time_point touched;
  };
  std::mutex mu;
  std::map<std::string, Entry> entries;
  size_t total = 0;

  // Appends a part; "" or the error.
  std::string add(const std::string& id, uint64_t offset, const std::string& data, size_t* size) {
    std::lock_guard lock(mu);
    const auto now = std::chrono::steady_clock::now();
    for (auto it = entries.begin(); it != entries.end();) {
      if (now - it->second.touched < kStageIdle) {
        ++it;
        continue;
      }
      total -= it->second.data.size();
      it = entries.erase(it);
    }
    Entry& e = entries[id];
    if (offset == 0) {
      total -= e.data.size();
      e.data.clear();
    }
    if (offset != e.data.size())
      return "stage " + id + " holds " + std::to_string(e.data.size()) + " bytes, not " + std::to_string(offset);
    if (e.data.size() + data.size() > kMaxStagedBytes)
      return "a staged message may hold at most " + std::to_string(kMaxStagedBytes >> 20) + " MiB";
    if (total + data.size() > kMaxStagedTotal) return "too many bytes staged at once; try again later";
    e.data += data;
    e.touched = now;
    total += data.size();
    *size = e.data.size();
    return "";
  }

  std::optional<std::string> take(const std::string& id) {
    std::lock_guard lock(mu);
    auto it = entries.find(id);
    if (it == entries.end()) return std::nullopt;
    std::string data = std::move(it->second.data);
    total -= data.size();
    entries.erase(it);
    return data;
  }
};

Stages& stages() {
  static Stages s;
  return s;
}

}  // namespace

base::json::Value AdminServer::do_mailbox(const MailboxRequest& req) {
  mailbox::Service* service = hooks_.mailbox;
  if (!service || !hooks_.peers || hooks_.peers->empty())
    return error_response("mailboxes are off in this daemon ([mailbox] enabled = false)");
  const mailbox::Families families = service->families();
  if (req.kind == MailboxRequest::Kind::Stage) {
    size_t size = 0;
    if (std::string why = stages().add(req.stage, req.offset, req.data, &size); !why.empty())
      return error_response(why);
    base::json::Value v = base::json::Value::object();
    v.set("ok", true);
    v.set("size", static_cast<uint64_t>(size));
    return v;
  }

  struct Prepared {
    std::string body_id;
    std::string body;
    std::string structure;
    uint8_t flags = 0;
    int64_t date_ms = 0;
  };
  auto prepared = std::make_shared<std::vector<Prepared>>();
  if (req.kind == MailboxRequest::Kind::Append) {
    static std::mutex id_mu;
    static queue::QueueIdGenerator ids(kImportIdShard);
    prepared->reserve(req.messages.size());
    for (const MailboxAppendMessage& m : req.messages) {
      Prepared p;
      {
        std::lock_guard lock(id_mu);
        for (int tries = 0;; ++tries) {
          p.body_id = ids.next();
          std::string unused;
          queue::Status st = mailbox::read_body(service->queue(), families, p.body_id, unused);
          if (st.code == queue::Status::Code::NotFound) break;
          if (!st.ok()) return error_response("cannot read the mail store: " + status_text(st));
          if (tries > 1000) return error_response("cannot find an unused body id");
        }
      }
      if (!m.staged.empty()) {
        auto staged = stages().take(m.staged);
        if (!staged) return error_response("no stage " + m.staged + " (never sent, taken, or idle for 10 minutes)");
        p.body = std::move(*staged);
      } else {
        p.body = m.body;
      }
      p.structure = mail::encode_structure(mail::parse_mime(p.body));
      p.flags = m.flags;
      p.date_ms = m.date_ms;
      prepared->push_back(std::move(p));
    }
  }

  auto answer = std::make_shared<Answer>();
  const unsigned owner = service->owner_of(req.user);
  ShardContext* ctx = (*hooks_.peers)[owner];
  auto request = std::make_shared<MailboxRequest>();
  request->kind = req.kind;
  request->user = req.user;
  request->mailbox = req.mailbox;
  request->create = req.create;
  ctx->reactor.post([service, families, request, prepared, answer] {
    service->change(request->user, [service, families, request, prepared, answer](mailbox::UserState* state,
                                                                                  mailbox::Service::Ticket ticket) {
      if (!state) {
        service->finish(ticket, false);
        return answer->set(error_response("cannot load the mailboxes of " + request->user));
      }
      const int64_t now = base::unix_ms();
      queue::Batch batch;
      base::json::Value reply = base::json::Value::object();
      reply.set("ok", true);
      if (request->kind == MailboxRequest::Kind::Purge) {
        const mailbox::Totals totals = state->totals();
        if (state->mailboxes().empty()) {
          service->finish(ticket, true);  // nothing changed
          return answer->set(error_response("no mailbox for user " + request->user));
        }
        if (!service->lock(request->user, kPurgeLockHolder)) {
          service->finish(ticket, true);  // nothing changed
          return answer->set(error_response(request->user + " has a POP3 session open (maildrop locked); try again "
                                                            "when it ends"));
        }
        state->purge(batch);
        reply.set("messages", totals.messages);
        reply.set("bytes", totals.bytes);
      } else {
        // Every step checks before it changes; a refusal part-way leaves the
        // state ahead of the disk, so it is dropped (finish false: reloaded).
        queue::Status st;
        if (!state->find(request->mailbox) && request->create) st = state->create_mailbox(batch, request->mailbox, now);
        base::json::Value uids = base::json::Value::array();
        for (size_t i = 0; st.ok() && i < prepared->size(); ++i) {
          Prepared& p = (*prepared)[i];
          mailbox::NewMessage nm;
          nm.body_id = p.body_id;
          nm.size = p.body.size();
          nm.internal_date_ms = p.date_ms;
          nm.flags = p.flags;
          uint32_t uid = 0;
          st = state->append(batch, request->mailbox, nm, now, uid);
          if (st.ok()) {
            mailbox::put_body(batch, families, p.body_id, std::move(p.body), std::move(p.structure));
            uids.push(static_cast<int64_t>(uid));
          }
        }
        if (!st.ok()) {
          service->finish(ticket, false);
          return answer->set(error_response(request->mailbox + ": " + status_text(st)));
        }
        const mailbox::Mailbox* mb = state->find(request->mailbox);
        reply.set("uids", std::move(uids));
        reply.set("uidvalidity", static_cast<int64_t>(mb ? mb->uidvalidity : 0));
        reply.set("mailbox", mb ? mb->name : request->mailbox);
      }
      const bool purge = request->kind == MailboxRequest::Kind::Purge;
      service->commit(ticket, std::move(batch),
                      [service, request, purge, answer, reply = std::move(reply)](queue::Status st) mutable {
                        if (purge)
                          service->unlock(request->user, kPurgeLockHolder);  // on the owner shard, like the lock
                        if (!st.ok())
                          return answer->set(error_response("the mail store write failed: " + status_text(st)));
                        answer->set(std::move(reply));
                      });
    });
  });

  // Waited for in slices, so a daemon that stops is not held up by it.
  std::unique_lock lock(answer->mu);
  const auto deadline = std::chrono::steady_clock::now() + kMailboxTimeout;
  while (!answer->done) {
    if (stopping_.load()) return error_response("the daemon is shutting down; the change may or may not be applied");
    if (std::chrono::steady_clock::now() >= deadline)
      return error_response("no answer from the mail store within " + std::to_string(kMailboxTimeout.count()) +
                            " s; the change may still be applied (check with `mailbox show`)");
    answer->cv.wait_for(lock, std::chrono::milliseconds(200));
  }
  if (const base::json::Value* ok = answer->reply.get("ok"); ok && ok->as_bool()) {
    if (req.kind == MailboxRequest::Kind::Purge) {
      spdlog::info("admin API: mailbox of {} purged ({} message(s))", req.user,
                   answer->reply.get("messages")->as_int());
    } else {
      spdlog::info("admin API: {} message(s) imported into {} of {}", req.messages.size(), req.mailbox, req.user);
    }
  }
  return answer->reply;
}

}  // namespace ringmta::admin
