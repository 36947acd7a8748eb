// proto/imap/lexer.cpp — the lexical rules of RFC 9051 §9 over one complete
// command (see parser.h). Strings keep raw bytes: rev2 allows UTF-8 in quoted
// strings; CR, LF and NUL never appear outside literals.
#include <cctype>
#include <utility>

#include "proto/imap/parser.h"

namespace ringmta::imap {

bool SequenceSet::contains(std::uint32_t n, std::uint32_t star) const {
  for (const SeqRange& r : ranges) {
    std::uint32_t lo = r.lo == 0 ? star : r.lo, hi = r.hi == 0 ? star : r.hi;
    if (lo > hi) std::swap(lo, hi);
    if (n >= lo && n <= hi) return true;
  }
  return false;
}

}  // namespace ringmta::imap

namespace ringmta::imap::detail {

bool is_atom_char(unsigned char c) {
  // ATOM-CHAR: any CHAR except atom-specials ( ) { SP CTL % * DQUOTE \ ].
  // 8-bit bytes are not CHAR; UTF8=ACCEPT only widens quoted strings.
  if (c <= 0x20 || c >= 0x7f) return false;
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']': return false;
    default: return true;
  }
}

bool Parser::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return false;
}

bool Parser::sp() {
  if (peek() == ' ') {
    ++p_;
    return true;
  }
  return fail(at_end() ? "Missing argument" : "Expected a space");
}

bool Parser::eat(char c) {
  if (!at_end() && s_[p_] == c) {
    ++p_;
    return true;
  }
  return false;
}

bool Parser::expect(char c) {
  if (eat(c)) return true;
  return fail(std::string("Expected '") + c + "'");
}

bool Parser::keyword(std::string_view k) {
  if (s_.size() - p_ < k.size()) return false;
  for (std::size_t i = 0; i < k.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s_[p_ + i])) != k[i]) return false;
  const std::size_t after = p_ + k.size();
  if (after < s_.size() && is_atom_char(static_cast<unsigned char>(s_[after])) && s_[after] != '[' &&
      s_[after] != '<' && s_[after] != '.')
    return false;
  p_ = after;
  return true;
}

bool Parser::end() {
  if (at_end()) return true;
  return fail("Unexpected extra arguments");
}

bool Parser::atom(std::string& out) {
  const std::size_t b = p_;
  while (!at_end() && is_atom_char(static_cast<unsigned char>(s_[p_]))) ++p_;
  if (p_ == b) return fail(at_end() ? "Missing argument" : "Invalid character in atom");
  out.assign(s_.substr(b, p_ - b));
  return true;
}

bool Parser::upper_atom(std::string& out) {
  if (!atom(out)) return false;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return true;
}

bool Parser::tag(std::string& out) {
  const std::size_t b = p_;
  while (!at_end()) {
    const unsigned char c = static_cast<unsigned char>(s_[p_]);
    if (!(is_atom_char(c) || c == ']') || c == '+') break;
    ++p_;
  }
  if (p_ == b) return fail("Missing or invalid tag");
  out.assign(s_.substr(b, p_ - b));
  return true;
}

bool Parser::quoted(std::string& out) {
  if (!expect('"')) return false;
  out.clear();
  while (!at_end()) {
    const char c = s_[p_++];
    if (c == '"') return true;
    if (c == '\\') {
      if (at_end() || (s_[p_] != '"' && s_[p_] != '\\')) return fail("Invalid escape in quoted string");
      out.push_back(s_[p_++]);
      continue;
    }
    if (c == '\r' || c == '\n' || c == '\0') return fail("Invalid character in quoted string");
    out.push_back(c);
  }
  return fail("Unterminated quoted string");
}

bool Parser::literal(std::string& out, bool allow8) {
  if (allow8) eat('~');
  if (!expect('{')) return false;
  std::uint64_t n = 0;
  if (!number(n, 0xffffffffffULL)) return false;
  eat('+');
  if (!expect('}')) return false;
  if (!(eat('\r') && eat('\n'))) return fail("Literal announcement not at end of line");
  if (s_.size() - p_ < n) return fail("Literal shorter than announced");
  out.assign(s_.substr(p_, n));
  p_ += n;
  if (!allow8 && out.find('\0') != std::string::npos) return fail("NUL in literal");
  return true;
}

bool Parser::string(std::string& out) {
  if (peek() == '"') return quoted(out);
  if (peek() == '{') return literal(out);
  return fail("Expected a string");
}

bool Parser::astring(std::string& out) {
  if (peek() == '"' || peek() == '{') return string(out);
  const std::size_t b = p_;
  while (!at_end() && (is_atom_char(static_cast<unsigned char>(s_[p_])) || s_[p_] == ']')) ++p_;
  if (p_ == b) return fail(at_end() ? "Missing argument" : "Invalid character in astring");
  out.assign(s_.substr(b, p_ - b));
  return true;
}

bool Parser::nstring(std::string& out, bool& nil) {
  nil = false;
  if (keyword("NIL")) {
    nil = true;
    out.clear();
    return true;
  }
  return string(out);
}

bool Parser::mailbox(std::string& out) {
  if (!astring(out)) return false;
  if (out.size() == 5) {
    std::string up = out;
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (up == "INBOX") out = up;
  }
  return true;
}

bool Parser::list_mailbox(std::string& out) {
  if (peek() == '"' || peek() == '{') return string(out);
  const std::size_t b = p_;
  while (!at_end()) {
    const unsigned char c = static_cast<unsigned char>(s_[p_]);
    if (!(is_atom_char(c) || c == '%' || c == '*' || c == ']')) break;
    ++p_;
  }
  if (p_ == b) return fail("Expected a mailbox pattern");
  out.assign(s_.substr(b, p_ - b));
  return true;
}

bool Parser::number(std::uint64_t& out, std::uint64_t max) {
  const std::size_t b = p_;
  out = 0;
  while (!at_end() && s_[p_] >= '0' && s_[p_] <= '9') {
    out = out * 10 + static_cast<unsigned>(s_[p_] - '0');
    if (out > max) return fail("Number out of range");
    ++p_;
  }
  if (p_ == b) return fail("Expected a number");
  return true;
}

bool Parser::nz_number(std::uint32_t& out) {
  std::uint64_t v = 0;
  if (!number(v, 0xffffffffULL)) return false;
  if (v == 0) return fail("Zero is not a valid message number");
  out = static_cast<std::uint32_t>(v);
  return true;
}

bool Parser::sequence_set(SequenceSet& out) {
  out = SequenceSet{};
  if (eat('$')) {
    out.saved = true;
    return true;
  }
  for (;;) {
    if (out.ranges.size() >= kMaxListItems) return fail("Sequence set too long");
    SeqRange r;
    auto one = [&](std::uint32_t& v) {
      if (eat('*')) {
        v = 0;
        return true;
      }
      if (peek() < '0' || peek() > '9') return fail("Invalid sequence set");
      return nz_number(v);
    };
    if (!one(r.lo)) return false;
    r.hi = r.lo;
    if (eat(':') && !one(r.hi)) return false;
    out.ranges.push_back(r);
    if (!eat(',')) return true;
  }
}

bool Parser::date(Date& out) {
  const bool q = eat('"');
  std::uint64_t y = 0;
  int d = 0, nd = 0;
  while (nd < 2 && peek() >= '0' && peek() <= '9') d = d * 10 + (s_[p_++] - '0'), ++nd;
  if (nd == 0 || d == 0 || d > 31) return fail("Invalid date");
  if (!expect('-')) return fail("Invalid date");
  static const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                  "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  int month = 0;
  for (int i = 0; i < 12 && month == 0; ++i)
    if (s_.size() - p_ >= 3) {
      bool same = true;
      for (int k = 0; k < 3; ++k)
        if (std::toupper(static_cast<unsigned char>(s_[p_ + k])) != kMonths[i][k]) same = false;
      if (same) month = i + 1;
    }
  if (month == 0) return fail("Invalid month in date");
  p_ += 3;
  if (!expect('-')) return fail("Invalid date");
  const std::size_t yb = p_;
  if (!number(y, 9999) || p_ - yb != 4) return fail("Invalid year in date");
  if (q && !expect('"')) return false;
  out = Date{static_cast<int>(y), month, d};
  return true;
}

bool Parser::date_time(std::string& out) {
  // DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
  const std::size_t b = p_;
  if (!expect('"')) return false;
  if (peek() == ' ') ++p_;
  Date d;
  if (!date(d)) return false;
  auto digits = [&](int n) {
    for (int i = 0; i < n; ++i)
      if (peek() < '0' || peek() > '9') return false;
      else ++p_;
    return true;
  };
  if (!(eat(' ') && digits(2) && eat(':') && digits(2) && eat(':') && digits(2) && eat(' ') &&
        (eat('+') || eat('-')) && digits(4) && eat('"')))
    return fail("Invalid date-time");
  out.assign(s_.substr(b + 1, p_ - b - 2));
  return true;
}

bool Parser::flag(std::string& out, bool allow_recent) {
  if (eat('\\')) {
    if (eat('*')) {
      out = "\\*";
      return true;
    }
    if (!atom(out)) return false;
    out.insert(out.begin(), '\\');
    std::string up = out;
    for (char& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (up == "\\RECENT" && !allow_recent) return fail("\\Recent cannot be set");
    return true;
  }
  return atom(out);
}

bool Parser::flag_list(std::vector<std::string>& out) {
  if (!expect('(')) return false;
  if (eat(')')) return true;
  for (;;) {
    if (out.size() >= kMaxListItems) return fail("Too many flags");
    std::string f;
    if (!flag(f, false)) return false;
    out.push_back(std::move(f));
    if (eat(')')) return true;
    if (!sp()) return false;
  }
}

}  // namespace ringmta::imap::detail
