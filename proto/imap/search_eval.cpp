// proto/imap/search_eval.cpp — see search_eval.h. The decoded, folded texts
// a message's string keys search (its header fields, its body) are built at
// most once per search_matches() call, whatever the number of keys.
#include "proto/imap/search_eval.h"

#include <algorithm>
#include <optional>
#include <string>
#include <unordered_map>

#include "base/text.h"
#include "mail/headers.h"

namespace ringmta::imap {
namespace {

constexpr int kMaxEvalDepth = kMaxSearchDepth + 2;

bool is_string_header_key(std::string_view k) {
  return k == "FROM" || k == "TO" || k == "CC" || k == "BCC" || k == "SUBJECT";
}
bool is_sent_key(std::string_view k) { return k == "SENTBEFORE" || k == "SENTON" || k == "SENTSINCE"; }

// The message as the string keys see it, built on first use.
class MessageText {
 public:
  explicit MessageText(const MessageData& m) : m_(m) {}

  const mail::MimeStructure* structure() {
    if (m_.structure != nullptr) return m_.structure;
    if (!m_.has_body) return nullptr;
    if (!own_) own_ = mail::parse_mime(m_.body);
    return &*own_;
  }

  // Folded text of the decoded body (text parts + encapsulated headers).
  const std::string& body() {
    if (body_) return *body_;
    body_.emplace();
    const mail::MimeStructure* s = structure();
    if (s == nullptr || !m_.has_body) return *body_;
    std::string text;
    for (size_t i = 0; i < s->parts.size(); ++i) {
      const mail::MimePart& p = s->parts[i];
      if (i != 0 && p.envelope) {
        append_fields(text, slice(p.header));
      }
      if (!p.children.empty() || p.type != "text") continue;
      std::string_view charset;
      for (const mail::MimeParam& prm : p.params)
        if (prm.name == "charset") charset = prm.value;
      text += charset_to_utf8(decode_transfer_encoding(slice(p.body), p.encoding), charset);
      text.push_back('\n');
    }
    *body_ = fold_case(text);
    return *body_;
  }

  // Folded text of the header fields ("Name: value" lines) of the message
  // and of its MIME parts (TEXT covers "the header (including MIME header
  // fields)", RFC 9051 §6.4.4).
  const std::string& header() {
    if (header_) return *header_;
    std::string text;
    append_fields(text, message_header_block(m_));
    if (const mail::MimeStructure* s = structure(); s != nullptr && m_.has_body)
      for (size_t i = 1; i < s->parts.size(); ++i) append_fields(text, slice(s->parts[i].header));
    header_ = fold_case(text);
    return *header_;
  }

 private:
  std::string_view slice(const mail::Span& sp) const {
    if (sp.offset > m_.body.size()) return {};
    return m_.body.substr(sp.offset, std::min<uint64_t>(sp.length, m_.body.size() - sp.offset));
  }
  static void append_fields(std::string& out, std::string_view block) {
    for (const mail::HeaderField& f : mail::header_fields(block)) {
      out.append(f.name);
      out += ": ";
      out += decode_header_text(base::trim(f.raw_value, " \t\r\n"));
      out.push_back('\n');
    }
  }

  const MessageData& m_;
  std::optional<mail::MimeStructure> own_;
  std::optional<std::string> body_, header_;
};

bool has_keyword(const MessageData& m, std::string_view kw) {
  if (m.keywords == nullptr) return false;
  return std::any_of(m.keywords->begin(), m.keywords->end(),
                     [&](const std::string& k) { return base::iequals(k, kw); });
}

bool saved_contains(const SearchContext& ctx, uint32_t uid) {
  return ctx.saved_uids != nullptr &&
         std::binary_search(ctx.saved_uids->begin(), ctx.saved_uids->end(), uid);
}

// A sequence set ready for many lookups. For a number x <= '*' (every
// message's seq <= max_seq, uid <= max_uid), a range "n:*" holds x exactly
// when x >= n or x == '*' (n > '*' leaves only '*'), so the '*' ranges fold
// into one minimum; the other ranges are sorted and merged.
struct FastSet {
  const SequenceSet* orig = nullptr;
  std::vector<std::pair<uint32_t, uint32_t>> fixed;
  bool has_star = false;
  uint32_t star_min = UINT32_MAX;  // smallest n of an "n:*" range

  explicit FastSet(const SequenceSet& s) : orig(&s) {
    for (const SeqRange& r : s.ranges) {
      if (r.lo == 0 || r.hi == 0) {
        has_star = true;
        const uint32_t n = r.lo == 0 ? r.hi : r.lo;
        if (n != 0) star_min = std::min(star_min, n);
        continue;
      }
      fixed.emplace_back(std::min(r.lo, r.hi), std::max(r.lo, r.hi));
    }
    std::sort(fixed.begin(), fixed.end());
    std::vector<std::pair<uint32_t, uint32_t>> merged;
    for (const auto& r : fixed) {
      if (!merged.empty() && r.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    fixed = std::move(merged);
  }
  bool contains(uint32_t x, uint32_t star) const {
    if (x > star) return orig->contains(x, star);  // outside the mailbox: the plain rule
    if (has_star && (x == star || x >= star_min)) return true;
    auto it = std::upper_bound(fixed.begin(), fixed.end(), std::make_pair(x, UINT32_MAX));
    return it != fixed.begin() && std::prev(it)->second >= x;
  }
};

// Per key node: its prepared set or folded string.
struct Prepared {
  std::optional<FastSet> set;
  std::string needle;  // folded search string (FROM..TEXT, HEADER's value)
};

// -1, 0, 1: the message's day against the key's date.
int compare_day(int64_t day, const Date& d) {
  if (d.month < 1 || d.month > 12) return 0;
  const int64_t key = days_from_civil(d.year, static_cast<unsigned>(d.month), static_cast<unsigned>(d.day));
  return day < key ? -1 : day > key ? 1 : 0;
}

int64_t sent_day(const MessageData& m) {
  if (std::optional<std::string> v = message_header(m, "date"))
    if (std::optional<SentDate> d = parse_sent_date(*v))
      return days_from_civil(d->year, static_cast<unsigned>(d->month), static_cast<unsigned>(d->day));
  return day_of_ms(m.internal_date_ms);
}

bool header_matches(const MessageData& m, std::string_view name, const std::string& n) {
  for (const mail::HeaderField& f : mail::header_fields(message_header_block(m))) {
    if (!base::iequals(f.name, name)) continue;
    if (n.empty()) return true;
    if (contains_bytes(fold_case(decode_header_text(base::trim(f.raw_value, " \t\r\n"))), n)) return true;
  }
  return false;
}

using PrepMap = std::unordered_map<const SearchKey*, Prepared>;

bool eval(const SearchKey& k, const MessageData& m, const SearchContext& ctx, MessageText& text, const PrepMap& prep,
          int depth) {
  if (depth > kMaxEvalDepth) return false;
  const std::string& key = k.key;
  const auto p = prep.find(&k);
  const Prepared* pr = p == prep.end() ? nullptr : &p->second;
  if (key == "AND") {
    for (const SearchKey& c : k.children)
      if (!eval(c, m, ctx, text, prep, depth + 1)) return false;
    return true;
  }
  if (key == "OR") {
    for (const SearchKey& c : k.children)
      if (eval(c, m, ctx, text, prep, depth + 1)) return true;
    return false;
  }
  if (key == "NOT") return k.children.size() == 1 && !eval(k.children[0], m, ctx, text, prep, depth + 1);
  if (key == "SEQ" || key == "UID") {
    if (k.set.saved) return saved_contains(ctx, m.uid);
    const bool uid = key == "UID";
    const uint32_t x = uid ? m.uid : m.seq, star = uid ? ctx.max_uid : ctx.max_seq;
    return pr != nullptr && pr->set ? pr->set->contains(x, star) : k.set.contains(x, star);
  }
  if (key == "ALL") return true;
  if (key == "ANSWERED") return (m.flags & kFlagAnswered) != 0;
  if (key == "DELETED") return (m.flags & kFlagDeleted) != 0;
  if (key == "DRAFT") return (m.flags & kFlagDraft) != 0;
  if (key == "FLAGGED") return (m.flags & kFlagFlagged) != 0;
  if (key == "SEEN") return (m.flags & kFlagSeen) != 0;
  if (key == "UNANSWERED") return (m.flags & kFlagAnswered) == 0;
  if (key == "UNDELETED") return (m.flags & kFlagDeleted) == 0;
  if (key == "UNDRAFT") return (m.flags & kFlagDraft) == 0;
  if (key == "UNFLAGGED") return (m.flags & kFlagFlagged) == 0;
  if (key == "UNSEEN") return (m.flags & kFlagSeen) == 0;
  if (key == "RECENT") return m.recent;
  if (key == "OLD") return !m.recent;
  if (key == "NEW") return m.recent && (m.flags & kFlagSeen) == 0;
  if (key == "KEYWORD") return !k.args.empty() && has_keyword(m, k.args[0]);
  if (key == "UNKEYWORD") return k.args.empty() || !has_keyword(m, k.args[0]);
  if (key == "LARGER") return m.size > k.number;
  if (key == "SMALLER") return m.size < k.number;
  if (key == "MODSEQ") return m.modseq >= k.number;
  if (key == "OLDER" || key == "YOUNGER") {
    // Saturating: a huge interval must not overflow.
    const int64_t secs = static_cast<int64_t>(std::min<uint64_t>(k.number, uint64_t{1} << 40));
    const bool older = m.internal_date_ms <= ctx.now_ms - secs * 1000;
    return key == "OLDER" ? older : !older;
  }
  if (key == "BEFORE" || key == "SAVEDBEFORE") return compare_day(day_of_ms(m.internal_date_ms), k.date) < 0;
  if (key == "ON" || key == "SAVEDON") return compare_day(day_of_ms(m.internal_date_ms), k.date) == 0;
  if (key == "SINCE" || key == "SAVEDSINCE") return compare_day(day_of_ms(m.internal_date_ms), k.date) >= 0;
  if (key == "SENTBEFORE") return compare_day(sent_day(m), k.date) < 0;
  if (key == "SENTON") return compare_day(sent_day(m), k.date) == 0;
  if (key == "SENTSINCE") return compare_day(sent_day(m), k.date) >= 0;
  if (is_string_header_key(key)) {
    if (k.args.empty()) return false;
    std::optional<std::string> v = message_header(m, key);
    if (!v) return false;
    return contains_bytes(fold_case(decode_header_text(*v)), pr != nullptr ? pr->needle : fold_case(k.args[0]));
  }
  if (key == "HEADER")
    return k.args.size() == 2 && header_matches(m, k.args[0], pr != nullptr ? pr->needle : fold_case(k.args[1]));
  if (key == "BODY" || key == "TEXT") {
    if (k.args.empty()) return false;
    const std::string n = pr != nullptr ? pr->needle : fold_case(k.args[0]);
    if (key == "TEXT" && contains_bytes(text.header(), n)) return true;
    return contains_bytes(text.body(), n);
  }
  return false;  // unknown key: the parser does not produce one
}

// Whether no node lies deeper than kMaxEvalDepth; iterative, so any tree is safe.
bool depth_ok(const SearchKey& root) {
  std::vector<std::pair<const SearchKey*, int>> stack{{&root, 0}};
  while (!stack.empty()) {
    auto [k, d] = stack.back();
    stack.pop_back();
    if (d > kMaxEvalDepth) return false;
    for (const SearchKey& c : k->children) stack.emplace_back(&c, d + 1);
  }
  return true;
}

unsigned key_needs(const SearchKey& k, int depth) {
  if (depth > kMaxEvalDepth) return kNeedNothing;
  unsigned n = kNeedNothing;
  const std::string& key = k.key;
  if (is_string_header_key(key) || is_sent_key(key)) n |= kNeedStructure;
  if (key == "HEADER") n |= kNeedBody;
  if (key == "BODY" || key == "TEXT") n |= kNeedBody | kNeedStructure;
  for (const SearchKey& c : k.children) n |= key_needs(c, depth + 1);
  return n;
}

}  // namespace

struct SearchCompiled {
  const SearchKey* key = nullptr;
  bool ok = false;
  unsigned needs = kNeedNothing;
  PrepMap prep;
};

SearchProgram::SearchProgram(const SearchKey& key) : c_(std::make_unique<SearchCompiled>()) {
  c_->key = &key;
  c_->ok = depth_ok(key);
  if (!c_->ok) return;
  c_->needs = key_needs(key, 0);
  std::vector<const SearchKey*> stack{&key};
  while (!stack.empty()) {  // bounded: depth_ok walked the same tree
    const SearchKey* k = stack.back();
    stack.pop_back();
    if ((k->key == "SEQ" || k->key == "UID") && !k->set.saved) {
      c_->prep[k].set.emplace(k->set);
    } else if (k->key == "HEADER" && k->args.size() == 2) {
      c_->prep[k].needle = fold_case(k->args[1]);
    } else if (!k->args.empty() && (is_string_header_key(k->key) || k->key == "BODY" || k->key == "TEXT")) {
      c_->prep[k].needle = fold_case(k->args[0]);
    }
    for (const SearchKey& c : k->children) stack.push_back(&c);
  }
}
SearchProgram::~SearchProgram() = default;
SearchProgram::SearchProgram(SearchProgram&&) noexcept = default;
SearchProgram& SearchProgram::operator=(SearchProgram&&) noexcept = default;

unsigned SearchProgram::needs() const { return c_->needs; }

bool SearchProgram::matches(const MessageData& m, const SearchContext& ctx) const {
  if (!c_->ok) return false;
  MessageText text(m);
  return eval(*c_->key, m, ctx, text, c_->prep, 0);
}

unsigned search_needs(const SearchKey& key) { return depth_ok(key) ? key_needs(key, 0) : kNeedNothing; }

bool search_matches(const SearchKey& key, const MessageData& m, const SearchContext& ctx) {
  return SearchProgram(key).matches(m, ctx);
}

bool charset_supported(std::string_view charset) {
  return charset.empty() || base::iequals(charset, "UTF-8") || base::iequals(charset, "US-ASCII");
}

}  // namespace ringmta::imap
