// access/pop3_session_store.cpp — a POP3 session's maildrop: the RFC 1939
// lock and the INBOX snapshot at login, message bodies for RETR/TOP, and
// QUIT's deletions — all through mailbox::Service, with its threading rules:
// lock/unlock/change run on the user's owner shard (posted there and the
// answer posted back), bodies are read on the Service's reader threads, and
// no RocksDB call ever runs on a shard.
//
// Why a snapshot is enough: the maildrop lock keeps other POP3 sessions
// out, and the only other writer of an INBOX is local delivery, which only
// appends (RFC 1939 §8: new mail appears at the next login). So the
// snapshot's change() finishes at once and holds nothing; QUIT is a new
// change that expunges by UID, skipping any the store no longer has.
//
// UIDL: "<uidvalidity>.<uid>" — stable for as long as the message exists and
// the identity IMAP uses for it too.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "access/pop3_session.h"
#include "mailbox/service.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace {

enum LoginResult { kOk = 0, kInvalid = 1, kThrottled = 2, kInUse = 3, kFailed = 4 };

// Read ahead at most this many body bytes (and kAheadMessages messages) per
// reader job; a new job starts when fewer than kAheadLow bodies are left.
constexpr uint64_t kAheadBytes = 256 * 1024;
constexpr size_t kAheadMessages = 16;
constexpr size_t kAheadLow = 4;

// Unlocks `user` on its owner shard (from any shard).
void post_unlock(Pop3Shard& shard, const std::string& user, uint64_t holder) {
  mailbox::Service* svc = shard.mailbox;
  if (!svc) return;  // the daemon is stopping: the store is gone with its locks
  (*shard.reactors)[svc->owner_of(user)]->post([svc, user, holder] { svc->unlock(user, holder); });
}

}  // namespace

void Pop3Session::start_load() {
  const std::string user = session_->user();
  if (!shard_.mailbox || !shard_.reactors) {
    ++telemetry::local().pop3_logins[kFailed];
    spdlog::warn("pop3 login failed user={} client=[{}]: no mail store", user, client_.ip());
    return act(session_->maildrop_refused(pop3::MaildropError::TempFail));
  }
  if (maildrop_owner(user, shard_.config->relay.local_domains) != user) {
    ++telemetry::local().pop3_logins[kFailed];
    spdlog::warn("pop3 login failed user={} client=[{}]: not a user of relay.local_domains (no mailbox)", user,
                 client_.ip());
    return act(session_->maildrop_refused(pop3::MaildropError::PermFail));
  }
  mailbox::Service* svc = shard_.mailbox;
  engine::Reactor* home = shard_.reactor;
  Pop3Shard* shard = &shard_;
  const uint64_t number = number_;
  const uint64_t holder = this->holder();
  lock_ = LockState::Requested;
  locking_ = user;
  // Runs on the owner shard; the answer goes home, where the session may be gone.
  auto reply = [home, shard, number, holder](LoadResult r, std::string user, std::vector<pop3::MessageInfo> infos,
                                             std::vector<Entry> entries) {
    home->post([shard, number, holder, r, user = std::move(user), infos = std::move(infos),
                entries = std::move(entries)]() mutable {
      auto it = shard->sessions.find(number);
      if (it == shard->sessions.end()) {
        if (r == LoadResult::Ok) post_unlock(*shard, user, holder);  // dropped while loading
        return;
      }
      it->second->loaded(r, std::move(user), std::move(infos), std::move(entries));
    });
  };
  (*shard_.reactors)[svc->owner_of(user)]->post([svc, user, holder, reply] {
    if (!svc->lock(user, holder)) return reply(LoadResult::InUse, user, {}, {});
    svc->change(user, [svc, holder, reply](mailbox::UserState* state, mailbox::Service::Ticket ticket) {
      if (!state) {  // the store could not be read
        svc->finish(ticket, false);
        svc->unlock(ticket.user, holder);
        return reply(LoadResult::TempFail, ticket.user, {}, {});
      }
      std::vector<pop3::MessageInfo> infos;
      std::vector<Entry> entries;
      if (const mailbox::Mailbox* inbox = state->find(mailbox::kInbox)) {
        infos.reserve(inbox->messages.size());
        entries.reserve(inbox->messages.size());
        const std::string prefix = std::to_string(inbox->uidvalidity) + ".";
        for (const mailbox::Message& m : inbox->messages) {
          infos.push_back({m.size, prefix + std::to_string(m.uid)});
          entries.push_back({m.uid, m.size, m.body_id});
        }
      }
      svc->finish(ticket, true);  // nothing changed: the memory is the disk
      reply(LoadResult::Ok, ticket.user, std::move(infos), std::move(entries));
    });
  });
}

void Pop3Session::loaded(LoadResult result, std::string user, std::vector<pop3::MessageInfo> infos,
                         std::vector<Entry> entries) {
  if (result != LoadResult::Ok) {
    lock_ = LockState::None;
    locking_.clear();
    const bool in_use = result == LoadResult::InUse;
    ++telemetry::local().pop3_logins[in_use ? kInUse : kFailed];
    spdlog::info("pop3 login failed user={} client=[{}]: {}", user, client_.ip(),
                 in_use ? "maildrop in use by another session" : "mail store unavailable");
    if (closing_) return;
    return act(session_->maildrop_refused(in_use ? pop3::MaildropError::InUse : pop3::MaildropError::TempFail));
  }
  lock_ = LockState::Held;
  owner_ = std::move(user);
  locking_.clear();
  entries_ = std::move(entries);
  uint64_t octets = 0;
  for (const auto& m : infos) octets += m.size;
  ++telemetry::local().pop3_logins[kOk];
  spdlog::info("pop3 login user={} client=[{}] session={} messages={} octets={} tls={}", owner_, client_.ip(),
               number_, infos.size(), octets, tls_ && tls_->handshake_done() ? "yes" : "no");
  if (closing_) return;
  last_activity_ = engine::Clock::now();
  act(session_->maildrop_loaded(std::move(infos)));
}

pop3::Action Pop3Session::fetch() {
  const pop3::FetchRequest& req = session_->fetch_request();
  if (req.index >= entries_.size() || !shard_.mailbox) return session_->message_failed();
  if (body_index_ != req.index || !body_) {
    body_.reset();
    body_index_ = SIZE_MAX;
    // Read ahead already? Bodies before it are not going to be asked for.
    while (!ahead_.empty() && ahead_.front().first < req.index) ahead_.pop_front();
    if (!ahead_.empty() && ahead_.front().first == req.index) {
      body_ = std::move(ahead_.front().second);
      body_index_ = req.index;
      ahead_.pop_front();
    } else {
      ahead_.clear();
      // Wait for the read in flight (ours, or a read-ahead of other
      // messages: bodies_read() comes back here and then reads ours).
      if (!reading_body_) read_bodies(req.index);
      return pop3::Action::NeedInput;
    }
  }
  // Back-pressure: the client has not taken what we sent yet.
  if (conn_.pending_output() >= 128 * 1024) {
    fetch_waiting_ = wait_drain_ = true;
    return pop3::Action::NeedInput;
  }
  // The next messages are likely next: read them while this one goes out.
  if (req.offset == 0 && !req.top && !reading_body_ && ahead_.size() < kAheadLow) {
    const size_t next = ahead_.empty() ? req.index + 1 : ahead_.back().first + 1;
    if (next < entries_.size()) read_bodies(next);
  }
  const std::string& b = *body_;
  const size_t offset = std::min<uint64_t>(req.offset, b.size());
  const size_t n = std::min(req.max_bytes, b.size() - offset);
  const bool end = offset + n >= b.size();
  if (!req.top) {  // TOP may use only part of what it is given: not counted
    bytes_sent_ += n;
    telemetry::local().pop3_bytes_sent += n;
  }
  if (end && !req.top) {
    ++retrieved_;
    ++telemetry::local().pop3_retrieved;
  }
  const pop3::Action next = session_->message_data(std::string_view(b).substr(offset, n), end);
  // Keep the body only while this message is being sent (TOP may stop early).
  if (session_->phase() != pop3::Phase::AwaitMessage && session_->phase() != pop3::Phase::OutputFull) {
    body_.reset();
    body_index_ = SIZE_MAX;
  }
  return next;
}

void Pop3Session::read_bodies(size_t index) {
  std::vector<std::string> ids;
  uint64_t bytes = 0;
  for (size_t i = index; i < entries_.size() && ids.size() < kAheadMessages && (ids.empty() || bytes < kAheadBytes);
       ++i) {
    ids.push_back(entries_[i].body_id);
    bytes += entries_[i].size;
  }
  reading_body_ = true;
  mailbox::Service* svc = shard_.mailbox;
  Pop3Shard* shard = &shard_;
  const uint64_t number = number_;
  using Bodies = std::vector<std::shared_ptr<const std::string>>;
  svc->read<Bodies>(
      *shard_.reactor,
      [svc, ids = std::move(ids)]() -> Bodies {
        Bodies out;
        for (const auto& id : ids) {
          auto body = std::make_shared<std::string>();
          if (!mailbox::read_body(svc->queue(), svc->families(), id, *body).ok()) break;  // the rest: asked again
          out.push_back(std::move(body));
        }
        return out;
      },
      [shard, number, index](Bodies bodies) {
        auto it = shard->sessions.find(number);
        if (it != shard->sessions.end()) it->second->bodies_read(index, std::move(bodies));
      });
}

// Bodies arrived (asked for, or read ahead): they wait in ahead_, and a
// session waiting for a message continues (fetch() takes it from there).
void Pop3Session::bodies_read(size_t first, std::vector<std::shared_ptr<const std::string>> bodies) {
  reading_body_ = false;
  if (closing_) return;
  for (size_t i = 0; i < bodies.size(); ++i)
    if (ahead_.empty() || ahead_.back().first < first + i) ahead_.emplace_back(first + i, std::move(bodies[i]));
  if (session_->phase() != pop3::Phase::AwaitMessage || fetch_waiting_ || body_) return;
  const size_t wanted = session_->fetch_request().index;
  if (wanted == first && bodies.empty()) {  // the one asked for cannot be read
    spdlog::error("pop3 session {} user={}: cannot read message {} (body {})", number_, owner_, wanted + 1,
                  wanted < entries_.size() ? entries_[wanted].body_id : "?");
    return act(session_->message_failed());
  }
  act(pop3::Action::Fetch);
}

// QUIT (UPDATE state): every marked message goes in ONE change and ONE
// commit — after a crash either all of them are gone or none. The owner
// shard unlocks right after it (the session closes after QUIT anyway).
void Pop3Session::start_commit() {
  std::vector<uint32_t> uids;
  for (size_t i : session_->deletions())
    if (i < entries_.size()) uids.push_back(entries_[i].uid);
  if (uids.empty()) return act(session_->commit_done(true));
  if (!shard_.mailbox) return act(session_->commit_done(false));  // the daemon is stopping
  mailbox::Service* svc = shard_.mailbox;
  engine::Reactor* home = shard_.reactor;
  Pop3Shard* shard = &shard_;
  const uint64_t number = number_;
  const uint64_t holder = this->holder();
  lock_ = LockState::Committing;
  auto reply = [home, shard, number](bool ok, size_t removed) {
    home->post([shard, number, ok, removed] {
      auto it = shard->sessions.find(number);
      if (it != shard->sessions.end()) it->second->committed(ok, removed);
    });
  };
  (*shard_.reactors)[svc->owner_of(owner_)]->post([svc, user = owner_, holder, uids = std::move(uids), reply] {
    svc->change(user, [svc, holder, uids, reply](mailbox::UserState* state, mailbox::Service::Ticket ticket) {
      if (!state) {
        svc->finish(ticket, false);
        svc->unlock(ticket.user, holder);
        return reply(false, 0);
      }
      queue::Batch batch;
      std::vector<uint32_t> removed;
      const queue::Status st = state->expunge(batch, mailbox::kInbox, uids, &removed);
      if (!st.ok() || removed.empty()) {  // nothing changed (a failed expunge changes nothing)
        svc->finish(ticket, true);
        svc->unlock(ticket.user, holder);
        return reply(st.ok(), 0);
      }
      svc->commit(ticket, std::move(batch), [svc, user = ticket.user, holder, reply, n = removed.size()](queue::Status s) {
        svc->unlock(user, holder);
        reply(s.ok(), s.ok() ? n : 0);
      });
    });
  });
}

void Pop3Session::committed(bool ok, size_t removed) {
  lock_ = LockState::None;  // the owner shard released it
  deleted_ = removed;
  telemetry::local().pop3_deleted += removed;
  if (!ok) spdlog::error("pop3 session {} user={}: QUIT could not remove the deleted messages", number_, owner_);
  if (closing_) return;
  act(session_->commit_done(ok));
}

// The session ends: its lock goes (a commit in flight unlocks by itself).
void Pop3Session::release_lock() {
  if (!shard_.mailbox || !shard_.reactors) return;
  if (lock_ == LockState::Held) post_unlock(shard_, owner_, holder());
  else if (lock_ == LockState::Requested) post_unlock(shard_, locking_, holder());
  lock_ = LockState::None;
}

}  // namespace ringmta::access
