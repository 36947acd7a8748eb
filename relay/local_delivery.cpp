// relay/local_delivery.cpp — the scheduler's local delivery: recipients at
// the local domains (mailbox.enabled) go into mailboxes, not to the delivery
// agent, exactly once (mailbox/store.h):
//
//   1. activate() hands the local recipients here (plan_local: each resolved
//      to its users now — aliases were expanded at RCPT already, so this is
//      usually the user itself; bounces to local senders are resolved here);
//   2. start_local posts one change per user to the user's owner shard
//      (mailbox::Service::change): it appends the message to the INBOX into a
//      batch of its own and sends the ops back — the user's later changes wait
//      until this one is finished;
//   3. when every user answered, the results go through complete() like an
//      agent's (log line relay=local, "delivered to mailbox"), and commit()
//      writes ONE batch: the body (once for all users, under the queue ID),
//      every user's appends and the envelope update — unsynced like every
//      outcome (store.h "Durability": lost together, delivered again);
//   4. after the write each user's change is finished on its owner (the quota
//      board moves then); a failed write finishes them as failed (their
//      loaded states are dropped) and leaves the message as it was.
//
// A recipient reaching several users (a bounce to a local alias) is delivered
// only if every one of them can take it; otherwise none of its users' appends
// are written and it is retried — never half delivered, so never duplicated.
#include <spdlog/spdlog.h>

#include <set>

#include "base/clock.h"
#include "mail/address.h"
#include "mail/mime.h"
#include "mailbox/store.h"
#include "relay/local_directory.h"
#include "relay/scheduler.h"
#include "relay/shard.h"
#include "telemetry/metrics.h"

namespace ringmta::relay {

namespace {

smtp::RecipientResult local_result(smtp::Outcome outcome, int code, std::string enhanced, std::string text) {
  smtp::RecipientResult r;
  r.outcome = outcome;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.text = std::move(text);
  r.local = true;
  return r;
}

// The MIME structure stored with a delivered body (mailbox::put_body), so
// IMAP FETCH BODYSTRUCTURE/ENVELOPE/BODY[section] never parse again. Parsed
// once per message however many users get it. Linear in the body (mail/mime.h
// bounds depth and parts); on the shard, as the body is in memory here: a
// 20 MB attachment takes under 10 ms (the parser's own measurement).
std::string mailbox_structure_of(const std::string& body) {
  return mail::encode_structure(mail::parse_mime(body));
}

}  // namespace

bool Scheduler::is_local_domain(const std::string& domain) const {
  return shard_.mailboxes && shard_.directory && shard_.directory->domains().contains(domain);
}

void Scheduler::plan_local(const queue::Envelope& env, uint32_t index, LocalRun& plan) {
  const queue::Recipient& r = env.recipients[index];
  auto snap = shard_.directory->current();
  mail::Resolution res;
  if (snap) res = mail::resolve(r.address, snap->aliases, snap->users, shard_.directory->domains());
  switch (res.status) {
    case mail::Resolution::Status::Ok:
      if (!res.external.empty())
        spdlog::warn("{}: to=<{}>: alias also names outside addresses; those are forwarded only for mail "
                     "accepted over SMTP (aliases are expanded at RCPT), not for this one",
                     env.id, r.address);
      if (res.users.empty()) {
        plan.fixed.emplace_back(index, local_result(smtp::Outcome::PermFail, 550, "5.1.1",
                                                    "alias reaches only outside addresses"));
        return;
      }
      for (const std::string& u : res.users) plan.users[u].push_back(index);
      return;
    case mail::Resolution::Status::TooDeep:
      plan.fixed.emplace_back(index, local_result(smtp::Outcome::TempFail, 451, "4.3.0", "alias expansion too deep"));
      return;
    default:
      // Unknown now (accepted before the user was removed, or a bounce to a
      // forged local sender).
      plan.fixed.emplace_back(index, local_result(smtp::Outcome::PermFail, 550, "5.1.1",
                                                  "user unknown in local recipient table"));
      return;
  }
}

void Scheduler::start_local(Active& a) {
  LocalRun& run = a.local;
  run.active = true;
  run.waiting = run.users.size();
  ShardContext* self = &shard_;
  const std::string id = a.env.id;
  const uint64_t activation = a.activation;
  if (run.waiting == 0) {
    // Only fixed results: answer as an agent would, not from inside activate().
    shard_.reactor.post([self, id, activation] {
      if (self->scheduler) self->scheduler->local_finished(id, activation);
    });
    return;
  }
  mailbox::Service* svc = shard_.mailboxes;
  LocalDirectory* dir = shard_.directory;
  const uint64_t size = a.body ? a.body->size() : 0;
  const int64_t arrival = a.env.arrival_ms;
  for (const auto& [user, indices] : run.users) {
    ShardContext* owner = (*shard_.peers)[svc->owner_of(user)];
    owner->reactor.post([self, svc, dir, user, id, activation, size, arrival] {
      svc->change(user, [self, svc, dir, user, id, activation, size, arrival](mailbox::UserState* st,
                                                                               mailbox::Service::Ticket t) {
        LocalAnswer ans{id, activation, LocalPart{user, t, {}, false, "", ""}};
        LocalPart& p = ans.part;
        auto snap = dir->current();
        const uint64_t quota = snap ? dir->quota_of(*snap, user) : 0;
        uint32_t uid = 0;
        if (!st) {
          svc->finish(t, false);
          p.enhanced = "4.3.0";
          p.text = "mailbox unavailable (the store could not be read)";
        } else if (quota > 0 && st->totals().bytes + size > quota) {
          svc->finish(t, true);  // nothing changed
          p.enhanced = "4.2.2";
          p.text = "mailbox full";
        } else {
          mailbox::NewMessage m;
          m.body_id = id;
          m.size = size;
          m.internal_date_ms = arrival;
          p.batch.set_needs_sync(false);
          queue::Status s = st->append(p.batch, mailbox::kInbox, m, base::unix_ms(), uid);
          if (s.ok()) {
            p.ok = true;
          } else {
            svc->finish(t, true);  // an error changes nothing
            p.enhanced = "4.3.0";
            p.text = "mailbox unavailable: " + s.message;
          }
        }
        self->reactor.post([self, ans = std::move(ans)]() mutable {
          if (self->scheduler) {
            self->scheduler->on_local_answer(std::move(ans));
          } else if (ans.part.ok) {
            // Shutting down: nothing will be written for this change.
            ShardContext* o = (*self->peers)[self->mailboxes->owner_of(ans.part.user)];
            o->reactor.post([svc = self->mailboxes, t = ans.part.ticket] { svc->finish(t, false); });
          }
        });
      });
    });
  }
}

void Scheduler::release_ticket(const std::string& user, const mailbox::Service::Ticket& ticket, bool committed) {
  mailbox::Service* svc = shard_.mailboxes;
  ShardContext* owner = (*shard_.peers)[svc->owner_of(user)];
  owner->reactor.post([svc, ticket, committed] { svc->finish(ticket, committed); });
}

void Scheduler::on_local_answer(LocalAnswer answer) {
  auto it = active_.find(answer.id);
  if (it == active_.end() || it->second.activation != answer.activation || !it->second.local.active ||
      it->second.committing || it->second.local.waiting == 0) {
    if (answer.part.ok) release_ticket(answer.part.user, answer.part.ticket, false);
    return;
  }
  Active& a = it->second;
  a.local.parts.push_back(std::move(answer.part));
  if (--a.local.waiting == 0) local_finished(a.env.id, a.activation);
}

void Scheduler::local_finished(const std::string& id, uint64_t activation) {
  auto it = active_.find(id);
  if (it == active_.end() || it->second.activation != activation || !it->second.local.active) return;
  Active& a = it->second;
  LocalRun& run = a.local;
  // Which recipients fail: a user that failed fails each of its recipients,
  // and a failed recipient withdraws its other users' appends (all or none).
  std::map<std::string, const LocalPart*> by_user;
  for (const LocalPart& p : run.parts) by_user[p.user] = &p;
  std::map<uint32_t, std::pair<std::string, std::string>> failed;  // index -> (enhanced, text)
  std::set<std::string> dropped;
  for (size_t round = 0; round <= run.users.size(); ++round) {
    bool changed = false;
    for (const auto& [user, indices] : run.users) {
      auto p = by_user.find(user);
      const bool user_ok = p != by_user.end() && p->second->ok && !dropped.count(user);
      for (uint32_t i : indices) {
        if (!user_ok && !failed.count(i)) {
          failed[i] = p != by_user.end() && !p->second->ok
                          ? std::make_pair(p->second->enhanced, p->second->text)
                          : std::make_pair(std::string("4.3.0"), "not delivered: another mailbox of this recipient failed");
          changed = true;
        }
      }
    }
    for (const auto& [user, indices] : run.users)
      for (uint32_t i : indices)
        if (failed.count(i) && !dropped.count(user)) {
          dropped.insert(user);
          changed = true;
        }
    if (!changed) break;
  }
  // The appends that will not be written end now.
  std::vector<LocalPart> kept;
  for (LocalPart& p : run.parts) {
    if (p.ok && dropped.count(p.user)) {
      release_ticket(p.user, p.ticket, false);
      continue;
    }
    if (p.ok) kept.push_back(std::move(p));
  }
  run.parts = std::move(kept);
  JobResult jr;
  jr.id = id;
  jr.activation = activation;
  jr.local = true;
  std::set<uint32_t> done;
  for (const auto& [user, indices] : run.users)
    for (uint32_t i : indices) {
      if (!done.insert(i).second) continue;
      jr.indices.push_back(i);
      if (auto f = failed.find(i); f != failed.end()) {
        const bool temp = !f->second.first.empty() && f->second.first[0] == '4';
        jr.results.push_back(local_result(temp ? smtp::Outcome::TempFail : smtp::Outcome::PermFail, temp ? 451 : 550,
                                          f->second.first, f->second.second));
      } else {
        jr.results.push_back(local_result(smtp::Outcome::Accepted, 250, "2.0.0", "delivered to mailbox"));
      }
    }
  for (auto& [i, rr] : run.fixed) {
    if (!done.insert(i).second) continue;
    jr.indices.push_back(i);
    jr.results.push_back(rr);
  }
  on_result(std::move(jr));
}

void Scheduler::add_local_ops(Active& a, queue::Batch& batch) {
  if (!a.local.active || a.local.parts.empty()) return;
  // Only the recipients complete() marked delivered have their appends here:
  // local_finished withdrew the rest.
  mailbox::put_body(batch, shard_.mailboxes->families(), a.env.id, a.body ? *a.body : std::string(),
                    mailbox_structure_of(a.body ? *a.body : std::string()));
  for (LocalPart& p : a.local.parts) batch.merge(std::move(p.batch));
  batch.set_needs_sync(false);
}

void Scheduler::end_local(Active& a, bool committed) {
  for (const LocalPart& p : a.local.parts) release_ticket(p.user, p.ticket, committed);
  if (committed) shard_.counters.local_deliveries += a.local.parts.size();  // messages appended
  a.local.parts.clear();
  a.local.active = false;
}

}  // namespace ringmta::relay
