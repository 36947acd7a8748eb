// proto/imap/sort.cpp — see sort.h. Each message's sort values are computed
// once, then the indices are sorted with a comparator over those values.
#include "proto/imap/sort.h"

#include <algorithm>
#include <numeric>

#include "base/text.h"

namespace ringmta::imap {
namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// subj-blob = "[" *BLOBCHAR "]" *WSP at s[i]; its end, or npos.
size_t blob_end(std::string_view s, size_t i) {
  if (i >= s.size() || s[i] != '[') return std::string_view::npos;
  size_t j = i + 1;
  while (j < s.size()) {
    const auto c = static_cast<unsigned char>(s[j]);
    if (c == ']') break;
    if (c == '[' || c == 0 || c > 0x7f) return std::string_view::npos;  // not BLOBCHAR
    ++j;
  }
  if (j >= s.size()) return std::string_view::npos;
  ++j;
  while (j < s.size() && is_wsp(s[j])) ++j;
  return j;
}

// subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":" at s[i]; end or npos.
size_t refwd_end(std::string_view s, size_t i) {
  for (std::string_view word : {"fwd", "fw", "re"}) {
    if (!base::istarts_with(s.substr(i), word)) continue;
    size_t j = i + word.size();
    while (j < s.size() && is_wsp(s[j])) ++j;
    if (const size_t b = blob_end(s, j); b != std::string_view::npos) j = b;
    if (j < s.size() && s[j] == ':') return j + 1;
  }
  return std::string_view::npos;
}

// subj-leader = (*subj-blob subj-refwd) / WSP at the start of `v`, a suffix
// of the subject `s`; its length, or 0. `refwd` says a "Re:"/"Fwd:" was
// removed. A run of blobs not followed by subj-refwd is remembered
// (`fail_end`, an offset in s): step (4) then removes those blobs one at a
// time, and rescanning the run each time would be quadratic.
size_t leader_len(std::string_view s, std::string_view v, bool& refwd, size_t& fail_end) {
  if (v.empty()) return 0;
  if (is_wsp(v[0])) return 1;
  const auto at = static_cast<size_t>(v.data() - s.data());
  if (fail_end != std::string_view::npos && at < fail_end) return 0;
  size_t j = 0;
  for (size_t b = blob_end(v, j); b != std::string_view::npos; b = blob_end(v, j)) j = b;
  const size_t r = refwd_end(v, j);
  if (r == std::string_view::npos) {
    if (j > 0) fail_end = at + j;
    return 0;
  }
  refwd = true;
  return r;
}

bool has_nonwsp(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return !is_wsp(c); });
}

}  // namespace

std::string base_subject(std::string_view raw, bool* is_reply_or_fwd) {
  // (1) Decode encoded words; tabs and folds to spaces; runs of spaces to one.
  std::string decoded = decode_header_text(raw);
  std::string s;
  s.reserve(decoded.size());
  for (char c : decoded) {
    if (c == '\t') c = ' ';
    if (c == ' ' && !s.empty() && s.back() == ' ') continue;
    s.push_back(c);
  }
  bool reply = false;
  std::string_view v = s;
  size_t fail_end = std::string_view::npos;  // see leader_len
  // Every pass of each loop shortens v, so all loops end within v.size() passes.
  for (;;) {
    // (2) Trailing "(fwd)" and white space.
    for (;;) {
      if (!v.empty() && is_wsp(v.back())) {
        v.remove_suffix(1);
      } else if (v.size() >= 5 && base::iequals(v.substr(v.size() - 5), "(fwd)")) {
        v.remove_suffix(5);
        reply = true;
      } else {
        break;
      }
    }
    // (3)-(5) Leaders, and a leading blob when something remains after it.
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t n = leader_len(s, v, reply, fail_end); n > 0; n = leader_len(s, v, reply, fail_end)) {
        v.remove_prefix(n);
        changed = true;
      }
      const size_t b = blob_end(v, 0);
      if (b != std::string_view::npos && has_nonwsp(v.substr(b))) {
        v.remove_prefix(b);
        changed = true;
      }
    }
    // (6) "[fwd: ... ]" around the rest: unwrap and start over at (2).
    if (v.size() >= 6 && base::istarts_with(v, "[fwd:") && v.back() == ']') {
      v = v.substr(5, v.size() - 6);
      reply = true;
      fail_end = std::string_view::npos;  // the run may have ended in the ']' just removed
      continue;
    }
    break;
  }
  if (is_reply_or_fwd != nullptr) *is_reply_or_fwd = reply;
  return std::string(v);
}

bool sort_key_supported(std::string_view k) {
  return k == "ARRIVAL" || k == "CC" || k == "DATE" || k == "FROM" || k == "SIZE" || k == "SUBJECT" ||
         k == "TO" || k == "DISPLAYFROM" || k == "DISPLAYTO";
}

unsigned sort_needs(const std::vector<std::string>& keys) {
  unsigned n = kNeedNothing;
  for (const std::string& k : keys)
    if (k != "ARRIVAL" && k != "SIZE" && k != "REVERSE" && sort_key_supported(k)) n |= kNeedStructure;
  return n;
}

namespace {

struct Value {
  int64_t n = 0;
  std::string s;
};

const mail::EnvelopeAddress* first_mailbox(const std::vector<mail::EnvelopeAddress>& list) {
  for (const mail::EnvelopeAddress& a : list)
    if (a.kind == mail::EnvelopeAddress::Kind::Mailbox) return &a;
  return nullptr;
}

Value value_of(const MessageData& m, std::string_view key) {
  Value v;
  if (key == "ARRIVAL") {
    v.n = m.internal_date_ms;
  } else if (key == "SIZE") {
    v.n = static_cast<int64_t>(std::min<uint64_t>(m.size, INT64_MAX));
  } else if (key == "DATE") {
    v.n = sent_seconds(m);
  } else if (key == "SUBJECT") {
    std::optional<std::string> subj = message_header(m, "subject");
    v.s = fold_case(base_subject(subj ? *subj : std::string()));
  } else if (key == "CC" || key == "FROM" || key == "TO") {
    const auto list = message_addresses(m, key);
    if (const mail::EnvelopeAddress* a = first_mailbox(list)) v.s = fold_case(a->mailbox);
  } else if (key == "DISPLAYFROM" || key == "DISPLAYTO") {
    const auto list = message_addresses(m, key == "DISPLAYFROM" ? "from" : "to");
    if (const mail::EnvelopeAddress* a = first_mailbox(list)) {
      std::string name = decode_header_text(a->name);
      if (!has_nonwsp(name)) name = a->host.empty() ? a->mailbox : a->mailbox + "@" + a->host;
      v.s = fold_case(name);
    }
  }
  return v;
}

}  // namespace

std::vector<uint32_t> sort_messages(const std::vector<MessageData>& msgs, const std::vector<std::string>& keys) {
  struct Key {
    std::string name;
    bool reverse = false;
    bool numeric = false;
  };
  std::vector<Key> ks;
  bool reverse = false;
  for (const std::string& k : keys) {
    if (k == "REVERSE") {
      reverse = true;
      continue;
    }
    if (sort_key_supported(k)) ks.push_back({k, reverse, k == "ARRIVAL" || k == "SIZE" || k == "DATE"});
    reverse = false;
  }
  std::vector<std::vector<Value>> vals(msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    vals[i].reserve(ks.size());
    for (const Key& k : ks) vals[i].push_back(value_of(msgs[i], k.name));
  }
  std::vector<uint32_t> order(msgs.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    for (size_t k = 0; k < ks.size(); ++k) {
      const Value& va = vals[a][k];
      const Value& vb = vals[b][k];
      int c = 0;
      if (ks[k].numeric) {
        c = va.n < vb.n ? -1 : va.n > vb.n ? 1 : 0;
      } else {
        c = va.s.compare(vb.s);
        c = c < 0 ? -1 : c > 0 ? 1 : 0;
      }
      if (ks[k].reverse) c = -c;
      if (c != 0) return c < 0;
    }
    if (msgs[a].seq != msgs[b].seq) return msgs[a].seq < msgs[b].seq;
    return a < b;
  });
  return order;
}

}  // namespace ringmta::imap
