// proto/imap/search.cpp — SEARCH keys (RFC 9051 §6.4.4 and §9 search-key,
// RFC 3501's rev1 keys NEW/OLD/RECENT/UNKEYWORD, RFC 7162 MODSEQ, RFC 5032
// OLDER/YOUNGER). Keys nest through "(", NOT and OR, so the recursion carries
// a depth bounded by kMaxSearchDepth: a hostile "NOT NOT NOT ..." gets a BAD,
// not a stack overflow.
#include <array>

#include "proto/imap/parser.h"

namespace ringmta::imap::detail {
namespace {

enum class Arg { None, String, Date, Number, Flag, Header, Set, Key, TwoKeys, ModSeq, NzNumber };
struct KeySpec {
  std::string_view name;
  Arg arg;
};
// Longest names first where one is a prefix of another is unnecessary:
// keyword() requires a delimiter after the name.
constexpr std::array<KeySpec, 41> kKeys = {{
    {"ALL", Arg::None},        {"ANSWERED", Arg::None},    {"BCC", Arg::String},
    {"BEFORE", Arg::Date},     {"BODY", Arg::String},      {"CC", Arg::String},
    {"DELETED", Arg::None},    {"DRAFT", Arg::None},       {"FLAGGED", Arg::None},
    {"FROM", Arg::String},     {"HEADER", Arg::Header},    {"KEYWORD", Arg::Flag},
    {"LARGER", Arg::Number},   {"NEW", Arg::None},         {"NOT", Arg::Key},
    {"OLD", Arg::None},        {"ON", Arg::Date},          {"OR", Arg::TwoKeys},
    {"RECENT", Arg::None},     {"SEEN", Arg::None},        {"SENTBEFORE", Arg::Date},
    {"SENTON", Arg::Date},     {"SENTSINCE", Arg::Date},   {"SINCE", Arg::Date},
    {"SMALLER", Arg::Number},  {"SUBJECT", Arg::String},   {"TEXT", Arg::String},
    {"TO", Arg::String},       {"UID", Arg::Set},          {"UNANSWERED", Arg::None},
    {"UNDELETED", Arg::None},  {"UNDRAFT", Arg::None},     {"UNFLAGGED", Arg::None},
    {"UNKEYWORD", Arg::Flag},  {"UNSEEN", Arg::None},      {"MODSEQ", Arg::ModSeq},
    {"OLDER", Arg::NzNumber},  {"YOUNGER", Arg::NzNumber}, {"SAVEDBEFORE", Arg::Date},
    {"SAVEDON", Arg::Date},    {"SAVEDSINCE", Arg::Date},
}};

}  // namespace

bool search_key(Parser& p, SearchKey& out, int depth) {
  if (depth > kMaxSearchDepth) return p.fail("Search key nesting too deep");
  out = SearchKey{};
  const char c = p.peek();
  if (c == '(') {
    p.eat('(');
    out.key = "AND";
    for (;;) {
      if (out.children.size() >= kMaxListItems) return p.fail("Too many search keys");
      out.children.emplace_back();
      if (!search_key(p, out.children.back(), depth + 1)) return false;
      if (p.eat(')')) return true;
      if (!p.sp()) return false;
    }
  }
  if ((c >= '0' && c <= '9') || c == '*' || c == '$') {
    out.key = "SEQ";
    return p.sequence_set(out.set);
  }
  const KeySpec* spec = nullptr;
  for (const KeySpec& k : kKeys)
    if (p.keyword(k.name)) {
      spec = &k;
      break;
    }
  if (spec == nullptr) return p.fail(p.at_end() ? "Missing search key" : "Unknown search key");
  out.key = std::string(spec->name);
  switch (spec->arg) {
    case Arg::None: return true;
    case Arg::String: {
      std::string v;
      if (!p.sp() || !p.astring(v)) return false;
      out.args.push_back(std::move(v));
      return true;
    }
    case Arg::Date: return p.sp() && p.date(out.date);
    case Arg::Number: return p.sp() && p.number(out.number, ~0ULL >> 1);
    case Arg::NzNumber: {
      std::uint32_t v = 0;
      if (!p.sp() || !p.nz_number(v)) return false;
      out.number = v;
      return true;
    }
    case Arg::Flag: {
      std::string v;
      if (!p.sp() || !p.atom(v)) return false;
      out.args.push_back(std::move(v));
      return true;
    }
    case Arg::Header: {
      std::string name, value;
      if (!p.sp() || !p.astring(name) || !p.sp() || !p.astring(value)) return false;
      out.args = {std::move(name), std::move(value)};
      return true;
    }
    case Arg::Set: return p.sp() && p.sequence_set(out.set);
    case Arg::Key:
      out.children.emplace_back();
      return p.sp() && search_key(p, out.children.back(), depth + 1);
    case Arg::TwoKeys:
      out.children.resize(2);
      return p.sp() && search_key(p, out.children[0], depth + 1) && p.sp() &&
             search_key(p, out.children[1], depth + 1);
    case Arg::ModSeq: {
      // MODSEQ [SP entry-name SP entry-type-req] SP mod-sequence-valzer
      if (!p.sp()) return false;
      if (p.peek() == '"') {
        std::string entry, type;
        if (!p.quoted(entry) || !p.sp() || !p.upper_atom(type) || !p.sp()) return false;
        if (type != "PRIV" && type != "SHARED" && type != "ALL") return p.fail("Invalid MODSEQ entry type");
        out.args = {std::move(entry), std::move(type)};
      }
      return p.number(out.number, ~0ULL >> 1);
    }
  }
  return false;
}

bool search_criteria(Parser& p, SearchKey& out) {
  out = SearchKey{};
  out.key = "AND";
  for (;;) {
    if (out.children.size() >= kMaxListItems) return p.fail("Too many search keys");
    out.children.emplace_back();
    if (!search_key(p, out.children.back(), 1)) return false;
    if (p.at_end()) return true;
    if (!p.sp()) return false;
  }
}

}  // namespace ringmta::imap::detail
