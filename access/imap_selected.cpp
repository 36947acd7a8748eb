// access/imap_selected.cpp — the commands on the selected mailbox that change
// or report its state (RFC 9051 §6.4): NOOP/CHECK, STORE (with CONDSTORE's
// UNCHANGEDSINCE), COPY/MOVE (UIDPLUS COPYUID), EXPUNGE and UID EXPUNGE,
// CLOSE/UNSELECT, and IDLE (RFC 2177). FETCH and SEARCH/SORT/THREAD, which
// read message text, are in imap_fetch.cpp.
//
// A step that commits captures the state by pointer for its callback: the
// Service keeps the state while the commit succeeds, and the next change of
// the user starts only after the callback (Service::commit).
#include <spdlog/spdlog.h>

#include <algorithm>

#include "access/imap_session.h"
#include "telemetry/metrics.h"

namespace ringmta::access {

namespace iv = imap_view;

namespace {

// The name of the selected mailbox (the store addresses mailboxes by name).
const mailbox::Mailbox* selected_mailbox(const mailbox::UserState& state, const iv::View& v) {
  return v.selected ? iv::mailbox_by_id(state, v.mailbox_id) : nullptr;
}

}  // namespace

void ImapSession::cmd_sync(imap::Command& cmd) {
  const std::string what = cmd.name == imap::Name::Check ? "CHECK" : "NOOP";
  on_owner(cmd.tag, [tag = cmd.tag, what](Owner& o, Finish finish) {
    std::string out;
    iv::sync(out, o.shared.view, selected_mailbox(o.state, o.shared.view), o.user, o.shared.modes, true);
    o.service.finish(o.ticket, true);
    finish(out + tag + " OK " + what + " completed\r\n");
  });
}

void ImapSession::cmd_store(imap::Command& cmd) {
  if (shared_->view.read_only) return reply(cmd.tag, "NO [READ-ONLY] Mailbox is read-only");
  uint8_t bits = 0;
  std::vector<std::string> keywords;
  if (!iv::parse_flags(cmd.flags, bits, keywords)) return bad(cmd.tag, "Unknown system flag");
  if (cmd.has_unchangedsince) shared_->modes.condstore = true;  // RFC 7162 §3.1: a CONDSTORE-enabling command
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  on_owner(c->tag, [c, bits, keywords](Owner& o, Finish finish) {
    std::string out;
    iv::View& v = o.shared.view;
    const mailbox::Mailbox* mb = selected_mailbox(o.state, v);
    iv::sync(out, v, mb, o.user, o.shared.modes, c->uid);
    if (!mb) {
      o.service.finish(o.ticket, true);
      return finish(out + c->tag + " NO [NONEXISTENT] The mailbox is gone\r\n");
    }
    std::vector<uint32_t> uids = iv::resolve(v, c->set, c->uid), modified, targets;
    for (uint32_t uid : uids) {
      const mailbox::Message* m = iv::message_by_uid(*mb, uid);
      if (!m) continue;  // expunged, not yet told: nothing to store
      if (c->has_unchangedsince && m->modseq > c->unchangedsince) modified.push_back(uid);
      else targets.push_back(uid);
    }
    const mailbox::StoreMode mode = c->store_mode == '+'   ? mailbox::StoreMode::Add
                                    : c->store_mode == '-' ? mailbox::StoreMode::Remove
                                                           : mailbox::StoreMode::Replace;
    queue::Batch batch;
    std::vector<uint32_t> changed;
    const std::string name = mb->name;
    queue::Status st = o.state.store(batch, name, targets, mode, bits, keywords, &changed);
    if (!st.ok()) {
      o.service.finish(o.ticket, false);
      return finish(out + c->tag + " NO [SERVERBUG] " + st.message + "\r\n");
    }
    // The answer: FETCH FLAGS for every message in the set (not .SILENT), or
    // with CONDSTORE only for those whose MODSEQ changed (RFC 7162 §3.1.3).
    auto answer = [c, modified, targets, changed, name, out, finish, state = &o.state, keep = o.keep,
                   user = &o.user]() mutable {
      iv::View& view = keep->view;
      const mailbox::Mailbox* now = state->find(name);
      const iv::Modes& m = keep->modes;
      if (now) {
        const std::vector<uint32_t>& report = c->silent ? changed : targets;
        if (!c->silent || m.condstore)
          for (uint32_t uid : report) {
            const mailbox::Message* msg = iv::message_by_uid(*now, uid);
            const uint32_t seq = iv::seq_of(view, uid);
            if (!msg || !seq) continue;
            out += "* " + std::to_string(seq) + " FETCH (";
            if (c->uid || m.condstore) out += "UID " + std::to_string(uid) + " ";
            out += "FLAGS ";
            iv::append_flags(out, msg->flags, msg->keywords,
                             !m.rev2 && std::binary_search(view.recent.begin(), view.recent.end(), uid));
            if (m.condstore) out += " MODSEQ (" + std::to_string(msg->modseq) + ")";
            out += ")\r\n";
          }
        view.modseq_seen = now->highest_modseq;
        (void)user;
      }
      std::string code;
      if (!modified.empty()) {
        std::vector<uint32_t> mod = modified;
        if (!c->uid)
          for (uint32_t& x : mod) x = iv::seq_of(view, x);
        std::sort(mod.begin(), mod.end());
        code = "[MODIFIED " + iv::set_text(mod) + "] ";
      }
      finish(out + c->tag + " OK " + code + "STORE completed\r\n");
    };
    if (changed.empty()) {
      o.service.finish(o.ticket, true);
      return answer();
    }
    o.service.commit(o.ticket, std::move(batch), [answer, c, finish, out](queue::Status s) mutable {
      if (!s.ok()) return finish(out + c->tag + " NO [SERVERBUG] Cannot store the change\r\n");
      answer();
    });
  });
}

void ImapSession::cmd_copy(imap::Command& cmd, bool move) {
  if (move && shared_->view.read_only) return reply(cmd.tag, "NO [READ-ONLY] Mailbox is read-only");
  const std::optional<std::string> target = iv::client_name(cmd.mailbox, shared_->modes);
  if (!target) return reply(cmd.tag, "NO [TRYCREATE] No such mailbox");
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  on_owner(c->tag, [c, move, target = *target](Owner& o, Finish finish) {
    std::string out;
    iv::View& v = o.shared.view;
    const mailbox::Mailbox* mb = selected_mailbox(o.state, v);
    iv::sync(out, v, mb, o.user, o.shared.modes, c->uid);
    const mailbox::Mailbox* to = o.state.find(target);
    if (!mb || !to || (to->attributes & iv::kNoselect)) {
      o.service.finish(o.ticket, true);
      return finish(out + c->tag + (mb ? " NO [TRYCREATE] No such mailbox\r\n" : " NO The mailbox is gone\r\n"));
    }
    std::vector<uint32_t> uids;
    for (uint32_t uid : iv::resolve(v, c->set, c->uid))
      if (iv::message_by_uid(*mb, uid)) uids.push_back(uid);
    const char* verb = move ? "MOVE" : "COPY";
    if (uids.empty()) {
      o.service.finish(o.ticket, true);
      // RFC 9051 §6.4.7: an empty UID set is not an error.
      return finish(out + c->tag + " OK " + verb + " completed (no messages)\r\n");
    }
    queue::Batch batch;
    std::vector<std::pair<uint32_t, uint32_t>> mapping;
    const std::string from = mb->name;
    const uint32_t uidvalidity = to->uidvalidity;
    queue::Status st = move ? o.state.move(batch, from, uids, target, &mapping)
                            : o.state.copy(batch, from, uids, target, &mapping);
    if (!st.ok()) {
      o.service.finish(o.ticket, false);
      const bool quota = st.message.find("quota") != std::string::npos;
      return finish(out + c->tag + (quota ? " NO [OVERQUOTA] " : " NO [CANNOT] ") + st.message + "\r\n");
    }
    o.service.commit(o.ticket, std::move(batch), [c, move, verb, out, finish, mapping, uidvalidity, from,
                                                   state = &o.state, keep = o.keep, user = &o.user](queue::Status s) mutable {
      if (!s.ok()) return finish(out + c->tag + " NO [SERVERBUG] Cannot store the change\r\n");
      std::vector<uint32_t> src, dst;
      for (const auto& [a, b] : mapping) {
        src.push_back(a);
        dst.push_back(b);
      }
      // Source UIDs ascending; the destination's in the same order.
      const std::string code = "[COPYUID " + std::to_string(uidvalidity) + " " + iv::set_text(src) + " " +
                               iv::set_text(dst) + "]";
      if (!move) return finish(out + c->tag + " OK " + code + " COPY completed\r\n");
      // RFC 6851 §4.3: COPYUID in an untagged OK, then the expunges.
      out += "* OK " + code + " Moved\r\n";
      iv::sync(out, keep->view, state->find(from), *user, keep->modes, true);
      finish(out + c->tag + " OK " + verb + " completed\r\n");
    });
  });
}

void ImapSession::cmd_expunge(imap::Command& cmd) {
  if (shared_->view.read_only) return reply(cmd.tag, "NO [READ-ONLY] Mailbox is read-only");
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  on_owner(c->tag, [c](Owner& o, Finish finish) {
    iv::View& v = o.shared.view;
    const mailbox::Mailbox* mb = selected_mailbox(o.state, v);
    std::vector<uint32_t> uids;
    if (mb) {
      const std::vector<uint32_t> candidates = c->uid ? iv::resolve(v, c->set, true) : v.uids;
      for (uint32_t uid : candidates)
        if (const mailbox::Message* m = iv::message_by_uid(*mb, uid); m && (m->flags & mailbox::kDeleted))
          uids.push_back(uid);
    }
    auto answer = [c, finish, state = &o.state, keep = o.keep, user = &o.user](const std::string& name) {
      std::string out;
      iv::sync(out, keep->view, name.empty() ? nullptr : state->find(name), *user, keep->modes, true);
      finish(out + c->tag + " OK EXPUNGE completed\r\n");
    };
    if (uids.empty()) {
      o.service.finish(o.ticket, true);
      return answer(mb ? mb->name : "");
    }
    queue::Batch batch;
    const std::string name = mb->name;
    queue::Status st = o.state.expunge(batch, name, uids);
    if (!st.ok()) {
      o.service.finish(o.ticket, false);
      return finish(c->tag + " NO [SERVERBUG] " + st.message + "\r\n");
    }
    o.service.commit(o.ticket, std::move(batch), [answer, name, c, finish](queue::Status s) {
      if (!s.ok()) return finish(c->tag + " NO [SERVERBUG] Cannot store the change\r\n");
      answer(name);
    });
  });
}

// CLOSE expunges \Deleted messages silently (read-write only); UNSELECT
// does not. Either way nothing is selected afterwards.
void ImapSession::cmd_close(imap::Command& cmd, bool expunge) {
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  on_owner(c->tag, [c, expunge](Owner& o, Finish finish) {
    iv::View& v = o.shared.view;
    const mailbox::Mailbox* mb = selected_mailbox(o.state, v);
    std::vector<uint32_t> uids;
    if (mb && expunge && !v.read_only)
      for (uint32_t uid : v.uids)
        if (const mailbox::Message* m = iv::message_by_uid(*mb, uid); m && (m->flags & mailbox::kDeleted))
          uids.push_back(uid);
    const std::string verb = expunge ? "CLOSE" : "UNSELECT";
    v = iv::View{};
    if (uids.empty()) {
      o.service.finish(o.ticket, true);
      return finish(c->tag + " OK " + verb + " completed\r\n");
    }
    queue::Batch batch;
    queue::Status st = o.state.expunge(batch, mb->name, uids);
    if (!st.ok()) {
      o.service.finish(o.ticket, false);
      return finish(c->tag + " OK CLOSE completed (nothing expunged: " + st.message + ")\r\n");
    }
    o.service.commit(o.ticket, std::move(batch), [c, finish](queue::Status s) {
      finish(c->tag + (s.ok() ? " OK CLOSE completed\r\n" : " NO [SERVERBUG] Cannot store the change\r\n"));
    });
  });
}

// ---- IDLE (RFC 2177) ----

void ImapSession::cmd_idle(imap::Command& cmd) {
  idling_ = true;
  idle_tag_ = cmd.tag;
  ++telemetry::local().imap_idling;
  send("+ idling\r\n");
  idle_check();  // what happened since the last command, at once
}

void ImapSession::idle_line(std::string_view line) {
  idling_ = false;
  --telemetry::local().imap_idling;
  if (imap::is_idle_done(line)) return reply(idle_tag_, "OK IDLE terminated");
  bad(idle_tag_, "Expected DONE to end IDLE");
}

void ImapSession::wake() {
  if (idling_) idle_check();
}

void ImapSession::idle_check() {
  if (!idling_ || closing_ || state_ != State::Selected) return;
  if (idle_checking_) {
    idle_again_ = true;
    return;
  }
  idle_checking_ = true;
  on_owner(
      idle_tag_,
      [](Owner& o, Finish finish) {
        std::string out;
        iv::sync(out, o.shared.view, selected_mailbox(o.state, o.shared.view), o.user, o.shared.modes, true);
        o.service.finish(o.ticket, true);
        finish(std::move(out));
      },
      [this](std::string text) {
        idle_checking_ = false;
        busy_ = false;
        if (!text.starts_with(idle_tag_ + " ")) send(text);  // (a load failure's NO is not sent while idling)
        if (shared_->view.gone) {
          send("* BYE Selected mailbox was deleted, have to disconnect\r\n");
          return close_connection();
        }
        if (idle_again_) {
          idle_again_ = false;
          return idle_check();
        }
        run();
      });
}

}  // namespace ringmta::access
