// mailbox/user_state.cpp — the per-user, in-memory side of the mail store:
// every change checks first, then updates memory and adds its ops to the
// caller's batch (see user_state.h for the contract, codec.h for the keys).
#include "mailbox/user_state.h"

#include <algorithm>
#include <set>

#include "mailbox/codec.h"

namespace ringmta::mailbox {
namespace {

bool is_inbox(std::string_view name) {
  return name.size() == kInbox.size() &&
         std::equal(name.begin(), name.end(), kInbox.begin(),
                    [](char a, char b) { return (a >= 'a' && a <= 'z' ? a - 32 : a) == b; });
}

// "inbox" in any case is stored and found as "INBOX" (RFC 9051 §5.1).
std::string canonical(std::string_view name) { return is_inbox(name) ? std::string(kInbox) : std::string(name); }

Status invalid(std::string msg) { return {Status::Code::InvalidArgument, std::move(msg)}; }
Status not_found(std::string_view name) { return {Status::Code::NotFound, "no mailbox " + std::string(name)}; }

Status check_keywords(const std::vector<std::string>& keywords) {
  if (keywords.size() > codec::kMaxKeywords) return invalid("too many keywords");
  for (const std::string& k : keywords)
    if (!codec::valid_keyword(k)) return invalid("bad keyword");
  return Status::Ok();
}

std::vector<std::string> sorted_unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

Message* find_in(Mailbox& mb, uint32_t uid) {
  auto it = std::lower_bound(mb.messages.begin(), mb.messages.end(), uid,
                             [](const Message& m, uint32_t u) { return m.uid < u; });
  return it != mb.messages.end() && it->uid == uid ? &*it : nullptr;
}

// The UIDVALIDITY a mailbox created now gets, or 0 if the counter is spent.
uint32_t next_uidvalidity(const Account& a, int64_t now_ms) {
  if (a.last_uidvalidity == UINT32_MAX) return 0;
  int64_t now_s = std::clamp<int64_t>(now_ms / 1000, 1, UINT32_MAX);
  return std::max(a.last_uidvalidity + 1, static_cast<uint32_t>(now_s));
}

}  // namespace

UserState::UserState(Families families, std::string user) : families_(families), user_(std::move(user)) {}

const Mailbox* UserState::find(std::string_view name) const {
  std::string want = canonical(name);
  for (const auto& [id, mb] : mailboxes_)
    if (mb.name == want) return &mb;
  return nullptr;
}

Mailbox* UserState::find_mut(std::string_view name) { return const_cast<Mailbox*>(find(name)); }

const Message* UserState::find_message(const Mailbox& mailbox, uint32_t uid) {
  return find_in(const_cast<Mailbox&>(mailbox), uid);
}

void UserState::put_account(queue::Batch& b) {
  b.put_extra(families_.meta, codec::account_key(user_), codec::encode_account(account_));
}

void UserState::put_mailbox(queue::Batch& b, const Mailbox& m) {
  b.put_extra(families_.meta, codec::mailbox_key(user_, m.id), codec::encode_mailbox(m));
}

void UserState::put_message(queue::Batch& b, const Mailbox& mb, const Message& m) {
  b.put_extra(families_.meta, codec::message_key(user_, mb.id, m.uid), codec::encode_message(m));
}

// Record and reference go; a hint tells the garbage collector to look at the body.
void UserState::remove_message(queue::Batch& b, const Mailbox& mb, const Message& m) {
  b.delete_extra(families_.meta, codec::message_key(user_, mb.id, m.uid));
  b.delete_extra(families_.refs, codec::ref_key(m.body_id, user_, mb.id, m.uid));
  b.put_extra(families_.refs, codec::hint_key(m.body_id, user_, mb.id, m.uid), "");
  account_.totals.messages--;
  account_.totals.bytes -= m.size;
}

uint32_t UserState::add_message(queue::Batch& b, Mailbox& mb, Message m) {
  m.uid = mb.uidnext++;
  m.modseq = ++mb.highest_modseq;
  put_message(b, mb, m);
  b.put_extra(families_.refs, codec::ref_key(m.body_id, user_, mb.id, m.uid), "");
  account_.totals.messages++;
  account_.totals.bytes += m.size;
  mb.messages.push_back(std::move(m));
  return mb.messages.back().uid;
}

Status UserState::check_room(const Mailbox& mb, size_t count) const {
  // UIDs are 32 bits and never reused: a mailbox that used them all is full.
  if (count > UINT32_MAX - mb.uidnext) return invalid("mailbox " + mb.name + " has no UIDs left");
  return Status::Ok();
}

// Checked by the caller: the name is valid and free, ids and UIDVALIDITY left.
Mailbox& UserState::create(queue::Batch& b, std::string name, int64_t now_ms, uint32_t attributes) {
  Mailbox mb;
  mb.id = account_.next_mailbox_id++;
  mb.name = std::move(name);
  mb.uidvalidity = account_.last_uidvalidity = next_uidvalidity(account_, now_ms);
  mb.attributes = attributes;
  put_mailbox(b, mb);
  put_account(b);
  return mailboxes_.emplace(mb.id, std::move(mb)).first->second;
}

Status UserState::create_mailbox(queue::Batch& b, std::string_view name, int64_t now_ms, uint32_t attributes) {
  if (!codec::valid_mailbox_name(name)) return invalid("bad mailbox name");
  if (find(name)) return invalid("mailbox " + std::string(name) + " exists");
  if (account_.next_mailbox_id == UINT32_MAX || next_uidvalidity(account_, now_ms) == 0)
    return invalid("no mailbox ids left");
  create(b, canonical(name), now_ms, attributes);
  return Status::Ok();
}

Status UserState::delete_mailbox(queue::Batch& b, std::string_view name) {
  if (is_inbox(name)) return invalid("the INBOX cannot be deleted");
  Mailbox* mb = find_mut(name);
  if (!mb) return not_found(name);
  for (const Message& m : mb->messages) remove_message(b, *mb, m);
  b.delete_extra(families_.meta, codec::mailbox_key(user_, mb->id));
  put_account(b);
  mailboxes_.erase(mb->id);
  return Status::Ok();
}

Status UserState::rename_mailbox(queue::Batch& b, std::string_view from, std::string_view to, int64_t now_ms) {
  if (!codec::valid_mailbox_name(to)) return invalid("bad mailbox name");
  if (is_inbox(to)) return invalid("cannot rename to INBOX");
  Mailbox* src = find_mut(from);
  if (!src) return not_found(from);
  if (find(to)) return invalid("mailbox " + std::string(to) + " exists");
  if (!is_inbox(from)) {
    src->name = std::string(to);
    put_mailbox(b, *src);
    return Status::Ok();
  }
  // The INBOX: its messages move to a new mailbox; the INBOX stays, empty.
  if (account_.next_mailbox_id == UINT32_MAX || next_uidvalidity(account_, now_ms) == 0)
    return invalid("no mailbox ids left");
  const uint32_t src_id = src->id;
  Mailbox& dst = create(b, std::string(to), now_ms, 0);
  Mailbox& inbox = mailboxes_.at(src_id);  // map nodes do not move; found again for clarity
  for (Message& m : inbox.messages) {
    remove_message(b, inbox, m);
    add_message(b, dst, std::move(m));
  }
  inbox.messages.clear();
  inbox.highest_modseq++;
  put_mailbox(b, inbox);
  put_mailbox(b, dst);
  put_account(b);
  return Status::Ok();
}

Status UserState::set_attributes(queue::Batch& b, std::string_view name, uint32_t attributes) {
  Mailbox* mb = find_mut(name);
  if (!mb) return not_found(name);
  mb->attributes = attributes;
  put_mailbox(b, *mb);
  return Status::Ok();
}

Status UserState::append(queue::Batch& b, std::string_view mailbox, const NewMessage& nm, int64_t now_ms,
                         uint32_t& uid) {
  if (!codec::valid_body_id(nm.body_id)) return invalid("bad body id");
  if (nm.flags & ~kAllFlags) return invalid("bad flags");
  if (Status s = check_keywords(nm.keywords); !s.ok()) return s;
  Mailbox* mb = find_mut(mailbox);
  if (!mb) {
    if (!is_inbox(mailbox)) return not_found(mailbox);
    if (account_.next_mailbox_id == UINT32_MAX || next_uidvalidity(account_, now_ms) == 0)
      return invalid("no mailbox ids left");
    mb = &create(b, std::string(kInbox), now_ms, 0);
  }
  if (Status s = check_room(*mb, 1); !s.ok()) return s;
  Message m;
  m.flags = nm.flags;
  m.internal_date_ms = nm.internal_date_ms;
  m.size = nm.size;
  m.body_id = nm.body_id;
  m.keywords = sorted_unique(nm.keywords);
  uid = add_message(b, *mb, std::move(m));
  put_mailbox(b, *mb);
  put_account(b);
  return Status::Ok();
}

Status UserState::store(queue::Batch& b, std::string_view mailbox, std::span<const uint32_t> uids, StoreMode mode,
                        uint8_t flags, const std::vector<std::string>& keywords, std::vector<uint32_t>* changed) {
  if (flags & ~kAllFlags) return invalid("bad flags");
  if (Status s = check_keywords(keywords); !s.ok()) return s;
  Mailbox* mb = find_mut(mailbox);
  if (!mb) return not_found(mailbox);
  const std::vector<std::string> kws = sorted_unique(keywords);
  // Work out every change first: a refused STORE must change nothing.
  struct Change {
    Message* m;
    uint8_t flags;
    std::vector<std::string> keywords;
  };
  std::vector<Change> planned;
  for (uint32_t uid : std::set<uint32_t>(uids.begin(), uids.end())) {
    Message* m = find_in(*mb, uid);
    if (!m) continue;
    Change c{m, m->flags, {}};
    switch (mode) {
      case StoreMode::Replace:
        c.flags = flags;
        c.keywords = kws;
        break;
      case StoreMode::Add:
        c.flags |= flags;
        std::set_union(m->keywords.begin(), m->keywords.end(), kws.begin(), kws.end(),
                       std::back_inserter(c.keywords));
        break;
      case StoreMode::Remove:
        c.flags &= static_cast<uint8_t>(~flags);
        std::set_difference(m->keywords.begin(), m->keywords.end(), kws.begin(), kws.end(),
                            std::back_inserter(c.keywords));
        break;
    }
    if (c.flags == m->flags && c.keywords == m->keywords) continue;
    if (c.keywords.size() > codec::kMaxKeywords) return invalid("too many keywords");
    planned.push_back(std::move(c));
  }
  for (Change& c : planned) {
    c.m->flags = c.flags;
    c.m->keywords = std::move(c.keywords);
    c.m->modseq = ++mb->highest_modseq;
    put_message(b, *mb, *c.m);
    if (changed) changed->push_back(c.m->uid);
  }
  const bool any = !planned.empty();
  if (any) put_mailbox(b, *mb);
  return Status::Ok();
}

Status UserState::expunge(queue::Batch& b, std::string_view mailbox, std::span<const uint32_t> uids,
                          std::vector<uint32_t>* removed) {
  Mailbox* mb = find_mut(mailbox);
  if (!mb) return not_found(mailbox);
  std::set<uint32_t> gone(uids.begin(), uids.end());
  bool any = false;
  std::erase_if(mb->messages, [&](const Message& m) {
    if (!gone.count(m.uid)) return false;
    remove_message(b, *mb, m);
    if (removed) removed->push_back(m.uid);
    any = true;
    return true;
  });
  if (!any) return Status::Ok();
  mb->highest_modseq++;  // an expunge is a change QRESYNC clients must see
  put_mailbox(b, *mb);
  put_account(b);
  return Status::Ok();
}

Status UserState::copy(queue::Batch& b, std::string_view from, std::span<const uint32_t> uids, std::string_view to,
                       std::vector<std::pair<uint32_t, uint32_t>>* mapping) {
  Mailbox* src = find_mut(from);
  if (!src) return not_found(from);
  Mailbox* dst = find_mut(to);
  if (!dst) return not_found(to);
  std::vector<Message> copies;
  for (uint32_t uid : std::set<uint32_t>(uids.begin(), uids.end()))
    if (const Message* m = find_in(*src, uid)) copies.push_back(*m);  // copied first: dst may be src
  if (copies.empty()) return Status::Ok();
  if (Status s = check_room(*dst, copies.size()); !s.ok()) return s;
  for (Message& m : copies) {
    uint32_t old_uid = m.uid;
    uint32_t new_uid = add_message(b, *dst, std::move(m));
    if (mapping) mapping->emplace_back(old_uid, new_uid);
  }
  put_mailbox(b, *dst);
  put_account(b);
  return Status::Ok();
}

Status UserState::move(queue::Batch& b, std::string_view from, std::span<const uint32_t> uids, std::string_view to,
                       std::vector<std::pair<uint32_t, uint32_t>>* mapping) {
  std::vector<std::pair<uint32_t, uint32_t>> moved;
  if (Status s = copy(b, from, uids, to, &moved); !s.ok()) return s;
  std::vector<uint32_t> sources;
  for (const auto& [old_uid, new_uid] : moved) sources.push_back(old_uid);
  if (Status s = expunge(b, from, sources); !s.ok()) return s;  // cannot fail: copy found `from`
  if (mapping) mapping->insert(mapping->end(), moved.begin(), moved.end());
  return Status::Ok();
}

void UserState::purge(queue::Batch& b) {
  for (const auto& [id, mb] : mailboxes_) {
    for (const Message& m : mb.messages) remove_message(b, mb, m);
    b.delete_extra(families_.meta, codec::mailbox_key(user_, id));
  }
  b.delete_extra(families_.meta, codec::account_key(user_));
  // The account goes, its last UIDVALIDITY stays (codec.h 'V').
  const uint32_t last_uidvalidity = account_.last_uidvalidity;
  b.put_extra(families_.meta, codec::uidvalidity_floor_key(user_), codec::encode_uidvalidity_floor(last_uidvalidity));
  mailboxes_.clear();
  account_ = Account{};
  account_.last_uidvalidity = last_uidvalidity;
}

}  // namespace ringmta::mailbox
