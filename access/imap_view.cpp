// access/imap_view.cpp — see imap_view.h: the selected mailbox's view, its
// synchronisation with the store on the owner shard, names and hierarchy.
#include "access/imap_view.h"

#include <algorithm>
#include <array>
#include <set>

#include "base/text.h"
#include "proto/imap/mutf7.h"

namespace ringmta::access::imap_view {

namespace {

struct UseName {
  uint32_t bit;
  std::string_view name;
};
constexpr std::array<UseName, 7> kUses = {{{kUseSent, "\\Sent"},
                                           {kUseDrafts, "\\Drafts"},
                                           {kUseTrash, "\\Trash"},
                                           {kUseJunk, "\\Junk"},
                                           {kUseArchive, "\\Archive"},
                                           {kUseAll, "\\All"},
                                           {kUseFlagged, "\\Flagged"}}};

// The mailboxes every user has from the first login (RFC 6154 names, as
// Thunderbird, Apple Mail and K-9 look for them).
constexpr std::array<UseName, 5> kDefaultFolders = {{{kUseSent, "Sent"},
                                                     {kUseDrafts, "Drafts"},
                                                     {kUseTrash, "Trash"},
                                                     {kUseJunk, "Junk"},
                                                     {kUseArchive, "Archive"}}};

void fetch_flags_line(std::string& out, uint32_t seq, const mailbox::Message& msg, bool recent, const Modes& m) {
  out += "* " + std::to_string(seq) + " FETCH (";
  if (m.condstore) out += "UID " + std::to_string(msg.uid) + " ";
  out += "FLAGS ";
  append_flags(out, msg.flags, msg.keywords, recent && !m.rev2);
  if (m.condstore) out += " MODSEQ (" + std::to_string(msg.modseq) + ")";
  out += ")\r\n";
}

bool is_recent(const View& v, uint32_t uid) { return std::binary_search(v.recent.begin(), v.recent.end(), uid); }

// Claims (read-write) or only counts (read-only) the messages from `first`
// on that no session has seen as recent yet.
void take_recent(View& v, const mailbox::Mailbox& mb, UserImap& u, size_t first) {
  uint32_t& floor = u.recent_floor[mb.id];
  for (size_t i = first; i < mb.messages.size(); ++i)
    if (mb.messages[i].uid >= floor) v.recent.push_back(mb.messages[i].uid);
  if (!v.read_only) floor = std::max(floor, mb.uidnext);
}

}  // namespace

std::string_view special_use_name(uint32_t bit) {
  for (const auto& u : kUses)
    if (u.bit == bit) return u.name;
  return "";
}

uint32_t special_use_bit(std::string_view name) {
  for (const auto& u : kUses)
    if (base::iequals(u.name, name)) return u.bit;
  return 0;
}

uint64_t fingerprint(const mailbox::UserState& state) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t x) { h = (h ^ x) * 1099511628211ull; };
  for (const auto& [id, mb] : state.mailboxes()) {
    mix(id);
    mix(mb.uidnext);
    mix(mb.highest_modseq);
    mix(mb.messages.size());
    mix(mb.attributes);
  }
  return h;
}

const mailbox::Mailbox* mailbox_by_id(const mailbox::UserState& state, uint32_t id) {
  auto it = state.mailboxes().find(id);
  return it == state.mailboxes().end() ? nullptr : &it->second;
}

const mailbox::Message* message_by_uid(const mailbox::Mailbox& mb, uint32_t uid) {
  auto it = std::lower_bound(mb.messages.begin(), mb.messages.end(), uid,
                             [](const mailbox::Message& m, uint32_t u) { return m.uid < u; });
  return it != mb.messages.end() && it->uid == uid ? &*it : nullptr;
}

void append_flags(std::string& out, uint8_t flags, const std::vector<std::string>& keywords, bool recent) {
  out += '(';
  const size_t start = out.size();
  auto add = [&](std::string_view f) {
    if (out.size() > start) out += ' ';
    out += f;
  };
  if (flags & mailbox::kSeen) add("\\Seen");
  if (flags & mailbox::kAnswered) add("\\Answered");
  if (flags & mailbox::kFlagged) add("\\Flagged");
  if (flags & mailbox::kDeleted) add("\\Deleted");
  if (flags & mailbox::kDraft) add("\\Draft");
  if (recent) add("\\Recent");
  for (const std::string& k : keywords) add(k);
  out += ')';
}

std::vector<uint32_t> resolve(const View& v, const imap::SequenceSet& set, bool uid) {
  std::vector<uint32_t> out;
  if (set.saved) {
    // "$": the saved result, restricted to messages still in the view.
    for (uint32_t u : v.saved)
      if (seq_of(v, u) != 0) out.push_back(u);
    return out;
  }
  if (v.uids.empty()) return out;
  if (uid) {
    const uint32_t star = v.uids.back();
    for (const imap::SeqRange& r : set.ranges) {
      uint32_t lo = r.lo == 0 ? star : r.lo, hi = r.hi == 0 ? star : r.hi;
      if (lo > hi) std::swap(lo, hi);
      auto a = std::lower_bound(v.uids.begin(), v.uids.end(), lo);
      auto b = std::upper_bound(v.uids.begin(), v.uids.end(), hi);
      out.insert(out.end(), a, b);
    }
  } else {
    const auto n = static_cast<uint32_t>(v.uids.size());
    for (const imap::SeqRange& r : set.ranges) {
      uint32_t lo = r.lo == 0 ? n : r.lo, hi = r.hi == 0 ? n : r.hi;
      if (lo > hi) std::swap(lo, hi);
      if (lo > n) continue;
      hi = std::min(hi, n);
      for (uint32_t s = lo; s <= hi; ++s) out.push_back(v.uids[s - 1]);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

uint32_t seq_of(const View& v, uint32_t uid) {
  auto it = std::lower_bound(v.uids.begin(), v.uids.end(), uid);
  return it != v.uids.end() && *it == uid ? static_cast<uint32_t>(it - v.uids.begin() + 1) : 0;
}

std::string set_text(const std::vector<uint32_t>& a) {
  std::string out;
  for (size_t i = 0; i < a.size();) {
    size_t j = i;
    while (j + 1 < a.size() && a[j + 1] == a[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(a[i]);
    if (j > i) out += ':' + std::to_string(a[j]);
    i = j + 1;
  }
  return out;
}

void sync(std::string& out, View& v, const mailbox::Mailbox* mb, UserImap& u, const Modes& m, bool allow_expunge) {
  if (!v.selected) return;
  if (!mb) {
    v.gone = true;
    if (!allow_expunge || v.uids.empty()) return;
    if (m.qresync) {
      out += "* VANISHED " + set_text(v.uids) + "\r\n";
    } else {
      for (size_t i = v.uids.size(); i > 0; --i) out += "* " + std::to_string(i) + " EXPUNGE\r\n";
    }
    v.uids.clear();
    v.recent.clear();
    return;
  }
  const uint32_t known_last = v.uids.empty() ? 0 : v.uids.back();
  if (allow_expunge) {
    std::vector<uint32_t> kept, vanished;
    kept.reserve(v.uids.size());
    std::string lines;
    for (uint32_t uid : v.uids) {
      if (message_by_uid(*mb, uid)) kept.push_back(uid);
      else vanished.push_back(uid);
    }
    if (!vanished.empty()) {
      if (m.qresync) {
        out += "* VANISHED " + set_text(vanished) + "\r\n";
      } else {
        // Highest first: each number is still valid when the client reads it.
        for (size_t i = v.uids.size(); i > 0; --i)
          if (!message_by_uid(*mb, v.uids[i - 1])) out += "* " + std::to_string(i) + " EXPUNGE\r\n";
      }
      v.uids = std::move(kept);
      std::erase_if(v.recent, [&](uint32_t uid) { return !message_by_uid(*mb, uid); });
    }
  }
  // Flag changes of messages the client knows (before announcing new ones,
  // whose flags come with their first FETCH).
  if (mb->highest_modseq > v.modseq_seen) {
    for (const mailbox::Message& msg : mb->messages) {
      if (msg.uid > known_last) break;
      if (msg.modseq <= v.modseq_seen) continue;
      if (uint32_t seq = seq_of(v, msg.uid)) fetch_flags_line(out, seq, msg, is_recent(v, msg.uid), m);
    }
    v.modseq_seen = mb->highest_modseq;
  }
  auto first_new = std::upper_bound(mb->messages.begin(), mb->messages.end(), known_last,
                                    [](uint32_t u2, const mailbox::Message& msg) { return u2 < msg.uid; });
  if (first_new != mb->messages.end()) {
    const size_t first = static_cast<size_t>(first_new - mb->messages.begin());
    for (auto it = first_new; it != mb->messages.end(); ++it) v.uids.push_back(it->uid);
    take_recent(v, *mb, u, first);
    out += "* " + std::to_string(v.uids.size()) + " EXISTS\r\n";
    if (!m.rev2) out += "* " + std::to_string(v.recent.size()) + " RECENT\r\n";
  }
}

void select(std::string& out, View& v, const mailbox::Mailbox& mb, UserImap& u, const Modes& m,
            const imap::Command& cmd, bool read_only) {
  v = View{};
  v.selected = true;
  v.mailbox_id = mb.id;
  v.read_only = read_only;
  v.uidvalidity = mb.uidvalidity;
  v.modseq_seen = mb.highest_modseq;
  v.uids.reserve(mb.messages.size());
  std::set<std::string> keywords;
  uint32_t first_unseen = 0;
  for (const mailbox::Message& msg : mb.messages) {
    v.uids.push_back(msg.uid);
    keywords.insert(msg.keywords.begin(), msg.keywords.end());
    if (first_unseen == 0 && !(msg.flags & mailbox::kSeen)) first_unseen = static_cast<uint32_t>(v.uids.size());
  }
  take_recent(v, mb, u, 0);
  std::string kw;
  for (const std::string& k : keywords) kw += " " + k;
  out += "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")\r\n";
  out += read_only ? "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n"
                   : "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + " \\*)] Flags permitted\r\n";
  out += "* " + std::to_string(v.uids.size()) + " EXISTS\r\n";
  if (!m.rev2) {
    out += "* " + std::to_string(v.recent.size()) + " RECENT\r\n";
    if (first_unseen) out += "* OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen\r\n";
  }
  out += "* OK [UIDVALIDITY " + std::to_string(mb.uidvalidity) + "] UIDs valid\r\n";
  out += "* OK [UIDNEXT " + std::to_string(mb.uidnext) + "] Predicted next UID\r\n";
  out += "* OK [HIGHESTMODSEQ " + std::to_string(std::max<uint64_t>(mb.highest_modseq, 1)) + "] Highest\r\n";
  if (cmd.qresync && cmd.qresync_uidvalidity == mb.uidvalidity) {
    // RFC 7162 §3.2.5.2: what changed since the client's MODSEQ. Expunged
    // messages are not remembered one by one, so VANISHED (EARLIER) names
    // every UID the client may know (its known-uids, else 1..UIDNEXT-1)
    // that is not here — allowed: §3.2.6 lets it include UIDs that never existed.
    std::vector<uint32_t> gone;
    auto absent = [&](uint32_t uid) { return uid < mb.uidnext && !message_by_uid(mb, uid); };
    if (!cmd.qresync_uids.ranges.empty()) {
      for (const imap::SeqRange& r : cmd.qresync_uids.ranges) {
        uint32_t lo = r.lo == 0 ? mb.uidnext : r.lo, hi = r.hi == 0 ? mb.uidnext : r.hi;
        if (lo > hi) std::swap(lo, hi);
        hi = std::min(hi, mb.uidnext > 0 ? mb.uidnext - 1 : 0);
        for (uint32_t x = lo; x <= hi && gone.size() < 1000000; ++x)
          if (absent(x)) gone.push_back(x);
      }
      std::sort(gone.begin(), gone.end());
      gone.erase(std::unique(gone.begin(), gone.end()), gone.end());
    } else {
      uint32_t next = 1;
      for (const mailbox::Message& msg : mb.messages) {
        for (uint32_t x = next; x < msg.uid && gone.size() < 1000000; ++x) gone.push_back(x);
        next = msg.uid + 1;
      }
      for (uint32_t x = next; x < mb.uidnext && gone.size() < 1000000; ++x) gone.push_back(x);
    }
    if (!gone.empty()) out += "* VANISHED (EARLIER) " + set_text(gone) + "\r\n";
    Modes with_uid = m;
    with_uid.condstore = true;
    for (size_t i = 0; i < mb.messages.size(); ++i)
      if (mb.messages[i].modseq > cmd.qresync_modseq)
        fetch_flags_line(out, static_cast<uint32_t>(i + 1), mb.messages[i], is_recent(v, mb.messages[i].uid), with_uid);
  }
}

// ---- names ----

std::optional<std::string> client_name(const std::string& raw, const Modes& m) {
  if (raw == "INBOX") return raw;
  if (m.utf8 || m.rev2) {
    if (!imap::valid_utf8_mailbox_name(raw) && !raw.empty()) return std::nullopt;
    return raw;
  }
  if (raw.empty()) return raw;
  return imap::mutf7_decode(raw);
}

bool parse_flags(const std::vector<std::string>& names, uint8_t& bits, std::vector<std::string>& keywords) {
  for (const std::string& f : names) {
    if (f.empty()) continue;
    if (f[0] != '\\') {
      keywords.push_back(f);
      continue;
    }
    if (base::iequals(f, "\\Seen")) bits |= mailbox::kSeen;
    else if (base::iequals(f, "\\Answered")) bits |= mailbox::kAnswered;
    else if (base::iequals(f, "\\Flagged")) bits |= mailbox::kFlagged;
    else if (base::iequals(f, "\\Deleted")) bits |= mailbox::kDeleted;
    else if (base::iequals(f, "\\Draft")) bits |= mailbox::kDraft;
    else if (!base::iequals(f, "\\Recent")) return false;  // \Recent: not settable (RFC 3501 §2.3.2), ignored
  }
  return true;
}

void append_name(std::string& out, const std::string& utf8, const imap::WriteOptions& o) {
  if (!imap::append_mailbox(out, utf8, o)) imap::append_string(out, utf8, o);
}

bool valid_new_name(std::string_view name) {
  if (name.empty() || name.size() > 512 || !imap::valid_utf8_mailbox_name(name)) return false;
  if (name.front() == kDelimiter || name.back() == kDelimiter) return false;
  if (name.find("//") != std::string_view::npos) return false;
  if (name.find_first_of("*%") != std::string_view::npos) return false;
  return std::count(name.begin(), name.end(), kDelimiter) < 32;
}

std::vector<std::string> superiors(std::string_view name) {
  std::vector<std::string> out;
  for (size_t p = name.find(kDelimiter); p != std::string_view::npos; p = name.find(kDelimiter, p + 1))
    out.emplace_back(name.substr(0, p));
  return out;
}

bool has_children(const mailbox::UserState& state, std::string_view name) {
  for (const auto& [id, mb] : state.mailboxes())
    if (mb.name.size() > name.size() + 1 && mb.name.compare(0, name.size(), name) == 0 &&
        mb.name[name.size()] == kDelimiter)
      return true;
  return false;
}

bool list_match(std::string_view reference, std::string_view pattern, std::string_view name) {
  std::string pat(reference);
  pat += pattern;
  // INBOX is case-insensitive, also as the first level of a pattern.
  if (pat.size() >= 5 && base::iequals(std::string_view(pat).substr(0, 5), "INBOX") &&
      (pat.size() == 5 || pat[5] == kDelimiter || pat[5] == '*' || pat[5] == '%'))
    for (size_t i = 0; i < 5; ++i) pat[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(pat[i])));
  // Wildcard match by dynamic programming over (pattern, name) positions:
  // bounded time (|pattern| x |name|), no recursion.
  const size_t n = name.size();
  std::vector<char> cur(n + 1, 0), next(n + 1, 0);
  cur[0] = 1;
  for (char pc : pat) {
    std::fill(next.begin(), next.end(), 0);
    if (pc == '*' || pc == '%') {
      bool reach = false;
      for (size_t j = 0; j <= n; ++j) {
        if (cur[j]) reach = true;
        if (reach) next[j] = 1;
        if (pc == '%' && j < n && name[j] == kDelimiter) reach = false;
      }
    } else {
      for (size_t j = 0; j < n; ++j)
        if (cur[j] && name[j] == pc) next[j + 1] = 1;
    }
    std::swap(cur, next);
  }
  return cur[n] != 0;
}

bool set_up(mailbox::UserState& state, queue::Batch& b, int64_t now_ms) {
  const mailbox::Mailbox* inbox = state.find(mailbox::kInbox);
  if (inbox && (inbox->attributes & kSetUp)) return false;
  if (!inbox) {
    state.create_mailbox(b, mailbox::kInbox, now_ms, kSetUp | kSubscribed);
  } else {
    state.set_attributes(b, mailbox::kInbox, inbox->attributes | kSetUp | kSubscribed);
  }
  for (const UseName& f : kDefaultFolders) {
    const mailbox::Mailbox* mb = state.find(f.name);
    if (!mb) state.create_mailbox(b, f.name, now_ms, f.bit | kSubscribed);
    else if (!(mb->attributes & kSpecialUseMask)) state.set_attributes(b, f.name, mb->attributes | f.bit);
  }
  return true;
}

}  // namespace ringmta::access::imap_view
