// mail/mime_address.cpp — parse_address_list(): RFC 5322 address lists as
// IMAP ENVELOPE wants them ((name route mailbox host) tuples and groups).
//
// Real header fields are full of junk, so this is a tokenizer plus a forgiving
// reading of each comma-separated segment rather than a grammar: quoted
// strings, comments and domain literals are recognised, angle brackets mark
// the address, and a bare "Name user@host" (no brackets) still finds the
// address in the last word run before '@'. Everything is linear in the input.
#include <cstddef>

#include "mail/mime.h"

namespace ringmta::mail {
namespace {

enum class Kind { Word, Quoted, Literal, Comment, Special };

// Small on purpose (a hostile field can hold millions of tokens): the
// unescaped text of quoted strings and comments is made only when used.
struct Tok {
  std::string_view raw;       // as written (quotes, parentheses, brackets included)
  Kind kind = Kind::Word;
  char c = 0;                 // the character of a Special
  bool space_before = false;  // whitespace or a comment precedes it
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool is_special(char c) {
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '.': case '"': case '[': case ']':
      return true;
    default:
      return false;
  }
}

std::string trimmed(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

// The content of a quoted string or comment token: the outer delimiters
// removed (the closing one may be missing), backslash escapes resolved; a
// comment keeps its nested parentheses.
std::string unescaped(std::string_view raw, bool comment) {
  std::string out;
  size_t depth = 1;
  for (size_t i = 1; i < raw.size(); ++i) {
    char c = raw[i];
    if (c == '\\') {
      if (++i == raw.size()) break;
      c = raw[i];
    } else if (!comment && c == '"') {
      break;
    } else if (comment && c == '(') {
      ++depth;
    } else if (comment && c == ')' && --depth == 0) {
      break;
    }
    out.push_back(c);
  }
  return out;
}

// Tokens one at a time, so a list is read segment by segment and reading
// stops as soon as enough addresses are found.
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view s) : s_(s) {}

  // The next token; false at the end of the input.
  bool next(Tok& t) {
    bool space = space_;
    while (i_ < s_.size() && is_space(s_[i_])) {  // every pass consumes at least one byte
      ++i_;
      space = true;
    }
    if (i_ >= s_.size()) return false;
    t = Tok{};
    t.space_before = space;
    space_ = false;
    const size_t b = i_;
    const char c = s_[i_];
    if (c == '(') {
      size_t depth = 0;
      for (; i_ < s_.size(); ++i_) {
        if (s_[i_] == '\\') {
          ++i_;
        } else if (s_[i_] == '(') {
          ++depth;
        } else if (s_[i_] == ')' && --depth == 0) {
          ++i_;
          break;
        }
      }
      t.kind = Kind::Comment;
      space_ = true;  // a comment separates words like whitespace
    } else if (c == '"') {
      for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_)
        if (s_[i_] == '\\') ++i_;
      ++i_;  // the closing quote (past the end when it is missing)
      t.kind = Kind::Quoted;
    } else if (c == '[') {
      while (i_ < s_.size() && s_[i_] != ']') ++i_;
      ++i_;
      t.kind = Kind::Literal;
    } else if (is_special(c)) {
      ++i_;
      t.kind = Kind::Special;
      t.c = c;
    } else {
      while (i_ < s_.size() && !is_space(s_[i_]) && !is_special(s_[i_])) ++i_;
      t.kind = Kind::Word;
    }
    if (i_ > s_.size()) i_ = s_.size();  // an unclosed quote/literal, a final backslash
    t.raw = s_.substr(b, i_ - b);
    return true;
  }

 private:
  std::string_view s_;
  size_t i_ = 0;
  bool space_ = false;
};

bool is_special_tok(const Tok& t, char c) { return t.kind == Kind::Special && t.c == c; }

// A display name: words, quoted strings (unquoted) and dots, one space where
// the source had whitespace or a comment.
std::string phrase(const std::vector<Tok>& t, size_t b, size_t e) {
  std::string out;
  for (size_t i = b; i < e; ++i) {
    const Tok& k = t[i];
    const bool wordish = k.kind == Kind::Word || k.kind == Kind::Quoted || k.kind == Kind::Literal ||
                         is_special_tok(k, '.');
    if (!wordish) continue;
    if (!out.empty() && k.space_before) out.push_back(' ');
    if (k.kind == Kind::Quoted) out += unescaped(k.raw, false);
    else out += k.raw;
  }
  return out;
}

// Tokens concatenated as written (local parts, domains, routes).
std::string joined(const std::vector<Tok>& t, size_t b, size_t e) {
  std::string out;
  for (size_t i = b; i < e; ++i)
    if (t[i].kind != Kind::Comment) out += t[i].raw;
  return out;
}

std::string last_comment(const std::vector<Tok>& t, size_t b, size_t e) {
  for (size_t i = e; i-- > b;) {
    if (t[i].kind != Kind::Comment) continue;
    std::string text = trimmed(unescaped(t[i].raw, true));
    if (!text.empty()) return text;
  }
  return {};
}

// An addr-spec in [b, e): local part before the first '@', domain after it.
// Returns where the local part starts (so a caller can take the words before
// it as a display name).
size_t addr_spec(const std::vector<Tok>& t, size_t b, size_t e, EnvelopeAddress& a) {
  size_t at = b;
  while (at < e && !is_special_tok(t[at], '@')) ++at;
  if (at == e) {  // no domain: the words are the mailbox
    a.mailbox = phrase(t, b, e);
    return b;
  }
  // The local part is the run of words and dots that touches the '@'.
  size_t j = at;
  while (j > b) {
    const Tok& k = t[j - 1];
    const bool local = k.kind == Kind::Word || k.kind == Kind::Quoted || is_special_tok(k, '.');
    if (!local || (j != at && t[j].space_before)) break;
    --j;
  }
  a.mailbox = joined(t, j, at);
  size_t d = at + 1;
  while (d < e && t[d].kind == Kind::Comment) ++d;  // "user@ (c) host" is obs-syntax
  const size_t dom_begin = d;
  while (d < e && (t[d].kind == Kind::Word || t[d].kind == Kind::Literal || is_special_tok(t[d], '.')) &&
         (d == dom_begin || !t[d].space_before))
    ++d;
  a.host = joined(t, dom_begin, d);
  return j;
}

// One comma-separated element: "name <route:addr>", "addr (comment)", junk.
void mailbox(const std::vector<Tok>& t, size_t b, size_t e, std::vector<EnvelopeAddress>& out) {
  EnvelopeAddress a;
  size_t lt = b;
  while (lt < e && !is_special_tok(t[lt], '<')) ++lt;
  if (lt < e) {
    size_t gt = lt + 1;
    while (gt < e && !is_special_tok(t[gt], '>')) ++gt;
    a.name = phrase(t, b, lt);
    size_t spec = lt + 1;
    if (spec < gt && is_special_tok(t[spec], '@')) {  // obs-route "@a,@b:"
      size_t colon = spec;
      while (colon < gt && !is_special_tok(t[colon], ':')) ++colon;
      if (colon < gt) {
        a.route = joined(t, spec, colon);
        spec = colon + 1;
      }
    }
    addr_spec(t, spec, gt, a);
  } else {
    const size_t local = addr_spec(t, b, e, a);
    if (!a.host.empty() || local > b) a.name = phrase(t, b, local);
  }
  if (a.name.empty()) a.name = last_comment(t, b, e);
  if (a.mailbox.empty() && a.host.empty() && a.route.empty()) return;  // "<>", comments only
  out.push_back(std::move(a));
}

}  // namespace

std::vector<EnvelopeAddress> parse_address_list(std::string_view value, size_t max_elements) {
  Tokenizer tokens(value);
  std::vector<Tok> seg;  // reused for every segment
  std::vector<EnvelopeAddress> out;
  bool in_group = false;
  while (out.size() < max_elements) {  // bounded: each pass consumes a segment or ends
    // A segment runs to ',', ';' or ':' outside angle brackets.
    seg.clear();
    bool angle = false;
    char term = 0;
    Tok t;
    while (tokens.next(t)) {
      if (is_special_tok(t, '<')) angle = true;
      else if (is_special_tok(t, '>')) angle = false;
      else if (!angle && t.kind == Kind::Special && (t.c == ',' || t.c == ';' || t.c == ':')) {
        term = t.c;
        break;
      }
      seg.push_back(t);
    }
    if (term == ':' && !in_group) {
      EnvelopeAddress g;
      g.kind = EnvelopeAddress::Kind::GroupStart;
      g.mailbox = phrase(seg, 0, seg.size());
      out.push_back(std::move(g));
      in_group = true;
    } else {
      mailbox(seg, 0, seg.size(), out);  // a ':' inside a group is junk that ends this segment
      if (term == ';' && in_group) {
        EnvelopeAddress g;
        g.kind = EnvelopeAddress::Kind::GroupEnd;
        out.push_back(std::move(g));
        in_group = false;
      }
    }
    if (term == 0) break;  // the end of the value
  }
  if (in_group) {
    EnvelopeAddress g;
    g.kind = EnvelopeAddress::Kind::GroupEnd;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace ringmta::mail
