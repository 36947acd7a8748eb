// access/imap_mailboxes.cpp — the commands on the user's set of mailboxes
// (RFC 9051 §6.3): SELECT/EXAMINE, CREATE (with CREATE-SPECIAL-USE), DELETE,
// RENAME, SUBSCRIBE/UNSUBSCRIBE, LIST/LSUB (with LIST-EXTENDED, LIST-STATUS,
// SPECIAL-USE), STATUS (STATUS=SIZE), GETQUOTA/GETQUOTAROOT (RFC 9208) and
// NAMESPACE. Each runs one step on the user's owner shard (imap_view.h).
// APPEND is in imap_append.cpp.
#include <algorithm>

#include "access/imap_session.h"
#include "base/clock.h"
#include "proto/imap/mutf7.h"
#include "proto/imap/response.h"

namespace ringmta::access {

namespace iv = imap_view;

namespace {

imap::WriteOptions write_options(const iv::Modes& m) {
  imap::WriteOptions o;
  o.utf8 = m.utf8 || m.rev2;
  o.rev2 = m.rev2;
  return o;
}

uint32_t recent_count(const mailbox::Mailbox& mb, const iv::UserImap& u) {
  auto it = u.recent_floor.find(mb.id);
  const uint32_t floor = it == u.recent_floor.end() ? 0 : it->second;
  uint32_t n = 0;
  for (const mailbox::Message& m : mb.messages)
    if (m.uid >= floor) ++n;
  return n;
}

// "* STATUS name (ITEM n ...)\r\n"
void status_line(std::string& out, const mailbox::Mailbox& mb, const std::vector<std::string>& items,
                 const iv::UserImap& u, const iv::Modes& m, uint64_t append_limit) {
  out += "* STATUS ";
  iv::append_name(out, mb.name, write_options(m));
  out += " (";
  bool first = true;
  for (const std::string& item : items) {
    uint64_t v = 0;
    if (item == "MESSAGES") v = mb.messages.size();
    else if (item == "UIDNEXT") v = mb.uidnext;
    else if (item == "UIDVALIDITY") v = mb.uidvalidity;
    else if (item == "RECENT") v = recent_count(mb, u);
    else if (item == "HIGHESTMODSEQ") v = std::max<uint64_t>(mb.highest_modseq, 1);
    else if (item == "APPENDLIMIT") v = append_limit;
    else if (item == "UNSEEN" || item == "DELETED" || item == "SIZE") {
      for (const mailbox::Message& msg : mb.messages) {
        if (item == "UNSEEN") v += !(msg.flags & mailbox::kSeen);
        else if (item == "DELETED") v += (msg.flags & mailbox::kDeleted) != 0;
        else v += msg.size;
      }
    } else {
      continue;
    }
    if (!first) out += ' ';
    first = false;
    out += item + " " + std::to_string(v);
  }
  out += ")\r\n";
}

bool selectable(const mailbox::Mailbox& mb) { return !(mb.attributes & iv::kNoselect); }

}  // namespace

void ImapSession::cmd_namespace(imap::Command& cmd) {
  send("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  reply(cmd.tag, "OK NAMESPACE completed");
}

void ImapSession::cmd_select(imap::Command& cmd, bool read_only) {
  auto name = iv::client_name(cmd.mailbox, shared_->modes);
  if (!name) return reply(cmd.tag, "NO [CANNOT] Invalid mailbox name");
  if (cmd.qresync && !shared_->modes.qresync) return bad(cmd.tag, "QRESYNC is not enabled");
  if (cmd.condstore) shared_->modes.condstore = true;
  const bool was_selected = state_ == State::Selected;
  auto c = std::make_shared<imap::Command>(std::move(cmd));
  on_owner(c->tag, [c, name = *name, read_only, was_selected](Owner& o, Finish finish) {
    std::string out;
    o.shared.view = iv::View{};  // a failed SELECT leaves nothing selected
    if (was_selected) out += "* OK [CLOSED] Previous mailbox closed\r\n";
    const mailbox::Mailbox* mb = o.state.find(name);
    o.service.finish(o.ticket, true);
    if (!mb || !selectable(*mb)) return finish(out + c->tag + " NO [NONEXISTENT] No such mailbox\r\n");
    iv::select(out, o.shared.view, *mb, o.user, o.shared.modes, *c, read_only);
    if (o.shared.modes.rev2) {
      out += "* LIST () \"/\" ";
      iv::append_name(out, mb->name, write_options(o.shared.modes));
      out += "\r\n";
    }
    out += c->tag + (read_only ? " OK [READ-ONLY] EXAMINE completed\r\n" : " OK [READ-WRITE] SELECT completed\r\n");
    finish(std::move(out));
  });
}

void ImapSession::cmd_create(imap::Command& cmd) {
  auto name = iv::client_name(cmd.mailbox, shared_->modes);
  if (name && !name->empty() && name->back() == iv::kDelimiter) name->pop_back();  // "foo/" creates foo
  if (!name || !iv::valid_new_name(*name)) return reply(cmd.tag, "NO [CANNOT] Invalid mailbox name");
  if (*name == "INBOX") return reply(cmd.tag, "NO [ALREADYEXISTS] INBOX exists");
  uint32_t use = 0;
  for (const std::string& f : cmd.flags) {
    const uint32_t bit = iv::special_use_bit(f);
    if (!bit) return reply(cmd.tag, "NO [USEATTR] Unsupported special-use attribute " + f);
    use |= bit;
  }
  on_owner(cmd.tag, [tag = cmd.tag, name = *name, use](Owner& o, Finish finish) {
    const mailbox::Mailbox* existing = o.state.find(name);
    if (existing && selectable(*existing)) {
      o.service.finish(o.ticket, true);
      return finish(tag + " NO [ALREADYEXISTS] Mailbox exists\r\n");
    }
    queue::Batch batch;
    const int64_t now = base::unix_ms();
    queue::Status st;
    // RFC 9051 §6.3.4: the superiors are created too.
    for (const std::string& sup : iv::superiors(name))
      if (st.ok() && !o.state.find(sup)) st = o.state.create_mailbox(batch, sup, now, iv::kSubscribed);
    if (st.ok()) {
      if (existing) st = o.state.set_attributes(batch, name, (existing->attributes & ~iv::kNoselect) | use);
      else st = o.state.create_mailbox(batch, name, now, use | iv::kSubscribed);
    }
    if (!st.ok()) {
      o.service.finish(o.ticket, false);  // memory may be ahead: reloaded
      return finish(tag + " NO [CANNOT] " + st.message + "\r\n");
    }
    o.service.commit(o.ticket, std::move(batch), [tag, finish](queue::Status s) {
      finish(tag + (s.ok() ? " OK CREATE completed\r\n" : " NO [SERVERBUG] Cannot store the change\r\n"));
    });
  });
}

void ImapSession::cmd_delete(imap::Command& cmd) {
  auto name = iv::client_name(cmd.mailbox, shared_->modes);
  if (!name) return reply(cmd.tag, "NO [NONEXISTENT] No such mailbox");
  if (*name == "INBOX") return reply(cmd.tag, "NO [CANNOT] INBOX cannot be deleted");
  on_owner(cmd.tag, [tag = cmd.tag, name = *name](Owner& o, Finish finish) {
    const mailbox::Mailbox* mb = o.state.find(name);
    if (!mb) {
      o.service.finish(o.ticket, true);
      return finish(tag + " NO [NONEXISTENT] No such mailbox\r\n");
    }
    queue::Batch batch;
    queue::Status st;
    const bool was_selected = o.shared.view.selected && o.shared.view.mailbox_id == mb->id;
    if (iv::has_children(o.state, name)) {
      // The name stays for its inferiors, \Noselect, without messages (RFC 3501 §6.3.4).
      if (!selectable(*mb)) {
        o.service.finish(o.ticket, true);
        return finish(tag + " NO [INUSE] Mailbox has inferior hierarchical names\r\n");
      }
      std::vector<uint32_t> uids;
      for (const mailbox::Message& m : mb->messages) uids.push_back(m.uid);
      const uint32_t attributes = (mb->attributes & ~iv::kSpecialUseMask) | iv::kNoselect;
      st = o.state.expunge(batch, name, uids);
      if (st.ok()) st = o.state.set_attributes(batch, name, attributes);
    } else {
      st = o.state.delete_mailbox(batch, name);
    }
    if (!st.ok()) {
      o.service.finish(o.ticket, false);
      return finish(tag + " NO [CANNOT] " + st.message + "\r\n");
    }
    if (was_selected) o.shared.view = iv::View{};  // deselected (RFC 9051 §6.3.9 leaves it to us)
    o.service.commit(o.ticket, std::move(batch), [tag, finish](queue::Status s) {
      finish(tag + (s.ok() ? " OK DELETE completed\r\n" : " NO [SERVERBUG] Cannot store the change\r\n"));
    });
  });
}

void ImapSession::cmd_rename(imap::Command& cmd) {
  auto from = iv::client_name(cmd.mailbox, shared_->modes);
  auto to = iv::client_name(cmd.new_mailbox, shared_->modes);
  if (!from) return reply(cmd.tag, "NO [NONEXISTENT] No such mailbox");
  if (!to || !iv::valid_new_name(*to) || *to == "INBOX") return reply(cmd.tag, "NO [CANNOT] Invalid new name");
  if (to->size() > from->size() && to->compare(0, from->size(), *from) == 0 && (*to)[from->size()] == iv::kDelimiter)
    return reply(cmd.tag, "NO [CANNOT] Cannot rename a mailbox into itself");
  on_owner(cmd.tag, [tag = cmd.tag, from = *from, to = *to](Owner& o, Finish finish) {
    const mailbox::Mailbox* mb = o.state.find(from);
    auto refuse = [&](std::string text) {
      o.service.finish(o.ticket, true);
      finish(tag + " " + text + "\r\n");
    };
    if (!mb) return refuse("NO [NONEXISTENT] No such mailbox");
    if (o.state.find(to)) return refuse("NO [ALREADYEXISTS] The new name exists");
    // The mailbox and its inferiors, e.g. a -> b, a/x -> b/x (RFC 9051 §6.3.6);
    // the INBOX's inferiors stay where they are.
    std::vector<std::pair<std::string, std::string>> moves{{from, to}};
    if (from != "INBOX")
      for (const auto& [id, m] : o.state.mailboxes())
        if (m.name.size() > from.size() + 1 && m.name.compare(0, from.size(), from) == 0 &&
            m.name[from.size()] == iv::kDelimiter)
          moves.emplace_back(m.name, to + m.name.substr(from.size()));
    for (const auto& mv : moves)
      if (mv.first != from && o.state.find(mv.second)) return refuse("NO [ALREADYEXISTS] " + mv.second + " exists");
    queue::Batch batch;
    const int64_t now = base::unix_ms();
    queue::Status st;
    for (const std::string& sup : iv::superiors(to))
      if (st.ok() && !o.state.find(sup)) st = o.state.create_mailbox(batch, sup, now, iv::kSubscribed);
    for (const auto& mv : moves)
      if (st.ok()) st = o.state.rename_mailbox(batch, mv.first, mv.second, now);
    if (!st.ok()) {
      o.service.finish(o.ticket, false);
      return finish(tag + " NO [CANNOT] " + st.message + "\r\n");
    }
    o.service.commit(o.ticket, std::move(batch), [tag, finish](queue::Status s) {
      finish(tag + (s.ok() ? " OK RENAME completed\r\n" : " NO [SERVERBUG] Cannot store the change\r\n"));
    });
  });
}

void ImapSession::cmd_subscribe(imap::Command& cmd, bool on) {
  auto name = iv::client_name(cmd.mailbox, shared_->modes);
  if (!name) return reply(cmd.tag, "NO [NONEXISTENT] No such mailbox");
  on_owner(cmd.tag, [tag = cmd.tag, name = *name, on](Owner& o, Finish finish) {
    const mailbox::Mailbox* mb = o.state.find(name);
    const char* what = on ? " OK SUBSCRIBE completed\r\n" : " OK UNSUBSCRIBE completed\r\n";
    if (!mb) {
      o.service.finish(o.ticket, true);
      // Subscriptions live on mailboxes here: a name without one cannot be
      // subscribed, and unsubscribing it is done already.
      return finish(tag + (on ? std::string(" NO [NONEXISTENT] No such mailbox\r\n") : std::string(what)));
    }
    const uint32_t attributes = on ? mb->attributes | iv::kSubscribed : mb->attributes & ~iv::kSubscribed;
    if (attributes == mb->attributes) {
      o.service.finish(o.ticket, true);
      return finish(tag + what);
    }
    queue::Batch batch;
    o.state.set_attributes(batch, name, attributes);
    o.service.commit(o.ticket, std::move(batch), [tag, what, finish](queue::Status s) {
      finish(tag + (s.ok() ? std::string(what) : std::string(" NO [SERVERBUG] Cannot store the change\r\n")));
    });
  });
}

void ImapSession::cmd_list(imap::Command& cmd) {
  const bool lsub = cmd.name == imap::Name::Lsub;
  auto reference = iv::client_name(cmd.mailbox, shared_->modes);
  std::vector<std::string> patterns;
  for (const std::string& p : cmd.patterns) {
    auto d = iv::client_name(p, shared_->modes);
    if (d) patterns.push_back(*d);
  }
  if (!reference) reference = std::string();
  // LIST "" "": the hierarchy delimiter and root (RFC 9051 §6.3.9).
  if (!lsub && cmd.patterns.size() == 1 && cmd.patterns[0].empty() && cmd.select_opts.empty()) {
    send("* LIST (\\Noselect) \"/\" \"\"\r\n");
    return reply(cmd.tag, "OK LIST completed");
  }
  auto has = [](const std::vector<std::string>& v, std::string_view s) {
    return std::find(v.begin(), v.end(), s) != v.end();
  };
  struct Opts {
    bool lsub, sel_subscribed, sel_special, recursive, ret_subscribed, ret_children, ret_special, ret_status;
    std::vector<std::string> status_items;
  } opts{lsub,
         has(cmd.select_opts, "SUBSCRIBED"),
         has(cmd.select_opts, "SPECIAL-USE"),
         has(cmd.select_opts, "RECURSIVEMATCH"),
         has(cmd.return_opts, "SUBSCRIBED"),
         has(cmd.return_opts, "CHILDREN"),
         has(cmd.return_opts, "SPECIAL-USE"),
         has(cmd.return_opts, "STATUS"),
         cmd.atoms};
  const uint64_t limit = imap_append_limit(*shard_.config);
  on_owner(cmd.tag, [tag = cmd.tag, ref = *reference, patterns, opts, limit](Owner& o, Finish finish) {
    o.service.finish(o.ticket, true);  // reads only
    const imap::WriteOptions w = write_options(o.shared.modes);
    std::vector<const mailbox::Mailbox*> all;
    for (const auto& [id, mb] : o.state.mailboxes()) all.push_back(&mb);
    std::sort(all.begin(), all.end(), [](const mailbox::Mailbox* a, const mailbox::Mailbox* b) {
      if ((a->name == "INBOX") != (b->name == "INBOX")) return a->name == "INBOX";
      return a->name < b->name;
    });
    std::string out;
    for (const mailbox::Mailbox* mb : all) {
      bool match = false;
      for (const std::string& p : patterns) match = match || iv::list_match(ref, p, mb->name);
      if (!match) continue;
      const bool subscribed = mb->attributes & iv::kSubscribed;
      std::string childinfo;
      if ((opts.lsub || opts.sel_subscribed) && !subscribed) {
        // RECURSIVEMATCH: a parent of a subscribed mailbox is listed with CHILDINFO.
        bool sub_child = false;
        if (opts.recursive)
          for (const mailbox::Mailbox* c : all)
            sub_child = sub_child || ((c->attributes & iv::kSubscribed) && c->name.size() > mb->name.size() + 1 &&
                                      c->name.compare(0, mb->name.size(), mb->name) == 0 &&
                                      c->name[mb->name.size()] == iv::kDelimiter);
        if (!sub_child) continue;
        childinfo = " (\"CHILDINFO\" (\"SUBSCRIBED\"))";
      }
      if (opts.sel_special && !(mb->attributes & iv::kSpecialUseMask)) continue;
      std::string attrs;
      auto add = [&attrs](std::string_view a) {
        if (!attrs.empty()) attrs += ' ';
        attrs += a;
      };
      if (!selectable(*mb)) add("\\Noselect");
      if (!opts.lsub) add(iv::has_children(o.state, mb->name) ? "\\HasChildren" : "\\HasNoChildren");
      if ((opts.sel_subscribed || opts.ret_subscribed) && subscribed) add("\\Subscribed");
      if (!opts.lsub)
        for (uint32_t bit = iv::kUseSent; bit <= iv::kUseFlagged; bit <<= 1)
          if (mb->attributes & bit) add(iv::special_use_name(bit));
      out += opts.lsub ? "* LSUB (" : "* LIST (";
      out += attrs + ") \"/\" ";
      iv::append_name(out, mb->name, w);
      out += childinfo + "\r\n";
      if (opts.ret_status && selectable(*mb)) status_line(out, *mb, opts.status_items, o.user, o.shared.modes, limit);
    }
    finish(out + tag + (opts.lsub ? " OK LSUB completed\r\n" : " OK LIST completed\r\n"));
  });
}

void ImapSession::cmd_status(imap::Command& cmd) {
  auto name = iv::client_name(cmd.mailbox, shared_->modes);
  if (!name) return reply(cmd.tag, "NO [NONEXISTENT] No such mailbox");
  const uint64_t limit = imap_append_limit(*shard_.config);
  on_owner(cmd.tag, [tag = cmd.tag, name = *name, items = cmd.atoms, limit](Owner& o, Finish finish) {
    o.service.finish(o.ticket, true);
    const mailbox::Mailbox* mb = o.state.find(name);
    if (!mb || !selectable(*mb)) return finish(tag + " NO [NONEXISTENT] No such mailbox\r\n");
    std::string out;
    // RFC 9051 §6.3.11: STATUS of the selected mailbox may also carry its news.
    if (o.shared.view.selected && o.shared.view.mailbox_id == mb->id)
      iv::sync(out, o.shared.view, mb, o.user, o.shared.modes, true);
    status_line(out, *mb, items, o.user, o.shared.modes, limit);
    finish(out + tag + " OK STATUS completed\r\n");
  });
}

void ImapSession::cmd_quota(imap::Command& cmd) {
  // One quota root "" for all of a user's mailboxes (RFC 9208), in KiB.
  const uint64_t quota = shard_.quota_of ? shard_.quota_of(user_) : 0;
  const bool root = cmd.name == imap::Name::GetQuotaRoot;
  if (!root && !cmd.mailbox.empty()) return reply(cmd.tag, "NO [NONEXISTENT] No such quota root");
  const mailbox::Totals t = shard_.mailbox ? shard_.mailbox->totals(user_) : mailbox::Totals{};
  std::string out;
  if (root) {
    out += "* QUOTAROOT ";
    imap::append_astring(out, cmd.mailbox);
    out += " \"\"\r\n";
  }
  out += "* QUOTA \"\" (";
  if (quota) out += "STORAGE " + std::to_string((t.bytes + 1023) / 1024) + " " + std::to_string(quota / 1024);
  out += ")\r\n";
  send(out);
  reply(cmd.tag, root ? "OK GETQUOTAROOT completed" : "OK GETQUOTA completed");
}

}  // namespace ringmta::access
