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

struct Tok {
  Kind kind = Kind::Word;
  char c = 0;              // the character of a Special
  std::string_view raw;    // as written (quotes and brackets included)
  std::string text;        // Quoted: unescaped content; Comment: trimmed content
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

std::vector<Tok> tokenize(std::string_view s) {
  std::vector<Tok> out;
  bool space = false;
  size_t i = 0;
  while (i < s.size()) {  // every branch consumes at least one byte
    const char c = s[i];
    Tok t;
    t.space_before = space;
    space = false;
    const size_t b = i;
    if (is_space(c)) {
      ++i;
      space = true;
      continue;
    }
    if (c == '(') {
      size_t depth = 0;
      std::string text;
      for (; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
          text.push_back(s[++i]);
          continue;
        }
        if (s[i] == '(' && depth++ == 0) continue;
        if (s[i] == ')' && --depth == 0) {
          ++i;
          break;
        }
        text.push_back(s[i]);
      }
      t.kind = Kind::Comment;
      t.text = trimmed(text);
      space = true;  // a comment separates words like whitespace
    } else if (c == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        t.text.push_back(s[i]);
      }
      if (i < s.size()) ++i;
      t.kind = Kind::Quoted;
    } else if (c == '[') {
      while (i < s.size() && s[i] != ']') ++i;
      if (i < s.size()) ++i;
      t.kind = Kind::Literal;
    } else if (is_special(c)) {
      ++i;
      t.kind = Kind::Special;
      t.c = c;
    } else {
      while (i < s.size() && !is_space(s[i]) && !is_special(s[i])) ++i;
      t.kind = Kind::Word;
    }
    t.raw = s.substr(b, i - b);
    out.push_back(std::move(t));
  }
  return out;
}

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
    out += k.kind == Kind::Quoted ? std::string_view(k.text) : k.raw;
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
  for (size_t i = e; i-- > b;)
    if (t[i].kind == Kind::Comment && !t[i].text.empty()) return t[i].text;
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

std::vector<EnvelopeAddress> parse_address_list(std::string_view value) {
  const std::vector<Tok> t = tokenize(value);
  std::vector<EnvelopeAddress> out;
  bool in_group = false;
  size_t i = 0;
  while (i < t.size()) {
    // A segment runs to ',', ';' or ':' outside angle brackets.
    const size_t b = i;
    bool angle = false;
    for (; i < t.size(); ++i) {
      if (is_special_tok(t[i], '<')) angle = true;
      else if (is_special_tok(t[i], '>')) angle = false;
      else if (!angle && t[i].kind == Kind::Special && (t[i].c == ',' || t[i].c == ';' || t[i].c == ':'))
        break;
    }
    const char term = i < t.size() ? t[i].c : 0;
    if (term == ':' && !in_group) {
      EnvelopeAddress g;
      g.kind = EnvelopeAddress::Kind::GroupStart;
      g.mailbox = phrase(t, b, i);
      out.push_back(std::move(g));
      in_group = true;
    } else {
      mailbox(t, b, i, out);  // a ':' inside a group is junk that ends this segment
      if (term == ';' && in_group) {
        EnvelopeAddress g;
        g.kind = EnvelopeAddress::Kind::GroupEnd;
        out.push_back(std::move(g));
        in_group = false;
      }
    }
    if (i < t.size()) ++i;
  }
  if (in_group) {
    EnvelopeAddress g;
    g.kind = EnvelopeAddress::Kind::GroupEnd;
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace ringmta::mail
