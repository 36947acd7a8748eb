// mailbox/store.cpp — the mail store's column families and its blocking
// readers: loading a user, bodies, totals, listing, export, and the body
// garbage collector (see store.h for the threading rules and why the
// collector is safe against deliveries on other shards).
#include "mailbox/store.h"

#include <future>
#include <map>

#include "mailbox/codec.h"
#include "mailbox/user_state.h"

namespace ringmta::mailbox {
namespace {

Status corrupt(std::string what) { return {Status::Code::Corruption, std::move(what)}; }
Status bad_user() { return {Status::Code::InvalidArgument, "bad user name"}; }

// Commit and wait (worker threads only).
Status commit_and_wait(queue::Queue& q, queue::Batch b) {
  std::promise<Status> p;
  std::future<Status> f = p.get_future();
  q.commit(std::move(b), [&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

}  // namespace

Families register_families(std::vector<queue::ExtraFamily>& extras) {
  Families f;
  // mailbox: small records, read once per user load and rewritten on every
  // change; a modest memtable.
  queue::ExtraFamily meta{"mailbox"};
  meta.write_buffer_size = 8 << 20;
  // mailbox_bodies: written once, read on RETR/FETCH, deleted on expunge —
  // like the queue's bodies, so blob files (with their garbage collection)
  // keep them out of compactions; structures (small) stay inline.
  queue::ExtraFamily bodies{"mailbox_bodies"};
  bodies.write_buffer_size = 32 << 20;
  bodies.blob_files = true;
  bodies.min_blob_size = 4 << 10;
  // mailbox_refs: empty values, keys only.
  queue::ExtraFamily refs{"mailbox_refs"};
  refs.write_buffer_size = 4 << 20;
  f.meta = static_cast<uint32_t>(extras.size());
  extras.push_back(meta);
  f.bodies = static_cast<uint32_t>(extras.size());
  extras.push_back(bodies);
  f.refs = static_cast<uint32_t>(extras.size());
  extras.push_back(refs);
  return f;
}

void put_body(queue::Batch& batch, const Families& f, std::string_view body_id, std::string body,
              std::string structure) {
  batch.put_extra(f.bodies, codec::body_key(body_id), std::move(body));
  batch.put_extra(f.bodies, codec::structure_key(body_id), std::move(structure));
}

Status load_user(queue::Queue& q, const Families& f, std::string_view user, UserState& out) {
  if (!codec::valid_user(user)) return bad_user();
  UserState st(f, std::string(user));
  std::string value;
  Status s = q.get_extra(f.meta, codec::account_key(user), value);
  if (s.ok()) {
    if (!codec::decode_account(value, st.account_)) return corrupt("account record of " + std::string(user));
  } else if (s.code != Status::Code::NotFound) {
    return s;
  } else if (Status v = q.get_extra(f.meta, codec::uidvalidity_floor_key(user), value); v.ok()) {
    // Purged before: new mailboxes continue above the last UIDVALIDITY.
    if (!codec::decode_uidvalidity_floor(value, st.account_.last_uidvalidity))
      return corrupt("UIDVALIDITY floor of " + std::string(user));
  } else if (v.code != Status::Code::NotFound) {
    return v;
  }
  const std::string prefix = codec::user_prefix(user);
  Status bad;
  Totals totals;
  s = q.scan_extra(f.meta, prefix, codec::user_prefix_end(user), [&](std::string_view key, std::string_view v) {
    auto k = codec::parse_user_key(key.substr(prefix.size()));
    if (!k) {
      bad = corrupt("unknown key in " + std::string(user) + "'s range");
      return false;
    }
    if (k->kind == codec::UserKey::Kind::Mailbox) {
      Mailbox mb;
      mb.id = k->mailbox_id;
      if (!codec::decode_mailbox(v, mb)) {
        bad = corrupt("mailbox record of " + std::string(user));
        return false;
      }
      st.mailboxes_.emplace(mb.id, std::move(mb));
      return true;
    }
    auto it = st.mailboxes_.find(k->mailbox_id);  // mailboxes sort before messages
    Message m;
    m.uid = k->uid;
    if (it == st.mailboxes_.end() || !codec::decode_message(v, m) || m.uid >= it->second.uidnext) {
      bad = corrupt("message record of " + std::string(user));
      return false;
    }
    totals.messages++;
    totals.bytes += m.size;
    it->second.messages.push_back(std::move(m));  // keys come in UID order
    return true;
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  // The records are the truth; the account's copy of the totals is for
  // read_totals and is rewritten with the next change.
  st.account_.totals = totals;
  out = std::move(st);
  return Status::Ok();
}

Status read_body(queue::Queue& q, const Families& f, std::string_view body_id, std::string& out) {
  if (!codec::valid_body_id(body_id)) return {Status::Code::InvalidArgument, "bad body id"};
  return q.get_extra(f.bodies, codec::body_key(body_id), out);
}

Status read_structure(queue::Queue& q, const Families& f, std::string_view body_id, std::string& out) {
  if (!codec::valid_body_id(body_id)) return {Status::Code::InvalidArgument, "bad body id"};
  return q.get_extra(f.bodies, codec::structure_key(body_id), out);
}

Status read_totals(queue::Queue& q, const Families& f, std::string_view user, Totals& out) {
  if (!codec::valid_user(user)) return bad_user();
  std::string value;
  Status s = q.get_extra(f.meta, codec::account_key(user), value);
  if (s.code == Status::Code::NotFound) {
    out = Totals{};
    return Status::Ok();
  }
  if (!s.ok()) return s;
  Account a;
  if (!codec::decode_account(value, a)) return corrupt("account record of " + std::string(user));
  out = a.totals;
  return Status::Ok();
}

Status list_users(queue::Queue& q, const Families& f,
                  const std::function<bool(std::string_view user, const Totals&)>& fn) {
  Status bad;
  std::string lower(1, codec::kAccountPrefix), upper(1, codec::kAccountPrefix + 1);
  Status s = q.scan_extra(f.meta, lower, upper, [&](std::string_view key, std::string_view v) {
    auto user = codec::parse_account_key(key);
    Account a;
    if (!user || !codec::decode_account(v, a)) {
      if (bad.ok()) bad = corrupt("bad account record");
      return true;  // one damaged record does not hide the other users
    }
    return fn(*user, a.totals);
  });
  return s.ok() ? bad : s;
}

Status for_each_message(queue::Queue& q, const Families& f, std::string_view user,
                        const std::function<bool(const Mailbox&, const Message&, const std::string& body)>& fn) {
  UserState st;
  if (Status s = load_user(q, f, user, st); !s.ok()) return s;
  std::string body;
  for (const auto& [id, mb] : st.mailboxes()) {
    for (const Message& m : mb.messages) {
      if (Status s = read_body(q, f, m.body_id, body); !s.ok())
        return {s.code, "body " + m.body_id + " of " + std::string(user) + ": " + s.message};
      if (!fn(mb, m, body)) return Status::Ok();
    }
  }
  return Status::Ok();
}

Status collect_garbage(queue::Queue& q, const Families& f, std::string& cursor, size_t max_hints, GcStats& stats) {
  // Hints grouped by body, in key order from the cursor.
  std::map<std::string, std::vector<std::string>> hints;  // body id -> its hint keys
  std::string start = cursor.empty() ? std::string(1, codec::kHintPrefix) : cursor;
  std::string end(1, codec::kHintPrefix + 1);
  std::string next;  // the first hint not taken
  Status s = q.scan_extra(f.refs, start, end, [&](std::string_view key, std::string_view) {
    auto r = codec::parse_ref_key(key);
    if (!r) return true;  // not ours to judge; never matches a body
    if (hints.size() >= max_hints && !hints.count(r->body_id)) {
      next = std::string(key);
      return false;
    }
    hints[r->body_id].emplace_back(key);
    return true;
  });
  if (!s.ok()) return s;
  queue::Batch b;
  b.set_needs_sync(false);  // losing a GC step to a power cut only delays it
  for (const auto& [body_id, keys] : hints) {
    stats.hints += keys.size();
    // (1) first: is the queue message of this id still there (more local
    // deliveries may come)? Then keep the hints for a later pass.
    queue::Envelope env;
    Status qs = q.read_envelope(body_id, env);
    if (qs.ok()) {
      stats.kept_queued++;
      continue;
    }
    if (qs.code != Status::Code::NotFound && qs.code != Status::Code::InvalidArgument) return qs;
    // (2) then: any reference left?
    bool referenced = false;
    const std::string prefix = codec::ref_prefix(body_id);
    std::string prefix_end = prefix;
    prefix_end.back() = '\1';
    if (Status rs = q.scan_extra(f.refs, prefix, prefix_end, [&](std::string_view, std::string_view) {
          referenced = true;
          return false;
        });
        !rs.ok())
      return rs;
    if (referenced) {
      stats.kept_referenced++;
    } else {
      b.delete_extra(f.bodies, codec::body_key(body_id));
      b.delete_extra(f.bodies, codec::structure_key(body_id));
      stats.bodies_deleted++;
    }
    // These hints are done either way: a reference removed later leaves its own.
    for (const std::string& k : keys) b.delete_extra(f.refs, k);
  }
  if (!b.empty())
    if (Status cs = commit_and_wait(q, std::move(b)); !cs.ok()) return cs;
  cursor = std::move(next);
  return Status::Ok();
}

}  // namespace ringmta::mailbox
