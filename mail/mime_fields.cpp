// mail/mime_fields.cpp — values of MIME header fields: Content-Type and
// Content-Disposition ("token[/token]; name=value; ..."), Content-Language,
// comments. Tolerant by design: a field that does not parse still yields what
// can be read, and the caller decides on the default (mail/mime.h).
#include <cstddef>

#include "base/text.h"
#include "mail/address.h"
#include "mail/mime.h"
#include "mail/mime_internal.h"

namespace ringmta::mail {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// RFC 2045 token: printable ASCII except SPACE and tspecials. 8-bit bytes are
// accepted too (they appear in the wild and cannot confuse the syntax).
bool is_token_char(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x80) return true;
  if (u <= 32 || u == 127) return false;
  switch (c) {
    case '(': case ')': case '<': case '>': case '@': case ',': case ';': case ':':
    case '\\': case '"': case '/': case '[': case ']': case '?': case '=':
      return false;
    default:
      return true;
  }
}

std::string_view trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return s.substr(b, e - b);
}

// Position after the comment that starts at s[i] == '(' (nesting counted).
size_t skip_comment(std::string_view s, size_t i) {
  size_t depth = 0;
  for (; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == '(') {
      ++depth;
    } else if (s[i] == ')') {
      if (--depth == 0) return i + 1;
    }
  }
  return s.size();
}

size_t skip_cfws(std::string_view s, size_t i) {
  while (i < s.size()) {
    if (is_space(s[i])) ++i;
    else if (s[i] == '(') i = skip_comment(s, i);
    else break;
  }
  return i;
}

// Read a token at s[i]; lower-cased into `out`.
size_t read_token(std::string_view s, size_t i, std::string& out) {
  const size_t b = i;
  while (i < s.size() && is_token_char(s[i])) ++i;
  out = base::to_lower_ascii(s.substr(b, i - b));
  return i;
}

// A parameter value at s[i]: a quoted-string (unquoted) or everything up to
// the next ';' with comments dropped and whitespace trimmed. Returns the
// position of the ';' (or the end).
size_t read_value(std::string_view s, size_t i, std::string& out) {
  out.clear();
  i = skip_cfws(s, i);
  if (i < s.size() && s[i] == '"') {
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out.push_back(s[i]);
    }
    if (i < s.size()) ++i;  // the closing quote; an unclosed one ends the value
    while (i < s.size() && s[i] != ';') i = s[i] == '(' ? skip_comment(s, i) : i + 1;
    return i;
  }
  std::string raw;
  while (i < s.size() && s[i] != ';') {
    if (s[i] == '(') {
      i = skip_comment(s, i);
      raw.push_back(' ');
    } else {
      raw.push_back(s[i++]);
    }
  }
  out = std::string(trim(raw));
  return i;
}

// `value` without RFC 5322 comments (outside quoted strings; nesting
// counted, an unclosed one runs to the end), trimmed of whitespace.
std::string strip_comments(std::string_view value) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] == '(') {
      i = skip_comment(value, i);
      out.push_back(' ');
    } else if (value[i] == '"') {  // a quoted string is copied whole
      const size_t b = i++;
      while (i < value.size() && value[i] != '"') i += value[i] == '\\' ? 2 : 1;
      i = i < value.size() ? i + 1 : value.size();
      out.append(value.substr(b, i - b));
    } else {
      out.push_back(value[i++]);
    }
  }
  return std::string(trim(out));
}

}  // namespace

std::vector<std::string> split_language(std::string_view value) {
  std::vector<std::string> tags;
  const std::string clean = strip_comments(value);
  size_t b = 0;
  while (b <= clean.size()) {
    size_t comma = clean.find(',', b);
    if (comma == std::string::npos) comma = clean.size();
    std::string_view tag = trim(std::string_view(clean).substr(b, comma - b));
    if (!tag.empty()) tags.emplace_back(tag);
    b = comma + 1;
  }
  return tags;
}

bool parse_content_value(std::string_view value, bool with_subtype, std::string& type,
                         std::string& subtype, std::vector<MimeParam>& params) {
  params.clear();
  size_t i = skip_cfws(value, 0);
  i = read_token(value, i, type);
  bool ok = !type.empty();
  if (with_subtype) {
    i = skip_cfws(value, i);
    if (i < value.size() && value[i] == '/') {
      i = read_token(value, skip_cfws(value, i + 1), subtype);
      ok = ok && !subtype.empty();
    } else {
      subtype.clear();
      ok = false;
    }
  }
  i = skip_cfws(value, i);
  // Junk after the type runs to the first ';': "text/plain foo; charset=x".
  if (i < value.size() && value[i] != ';') {  // tolerated: the type stands
    while (i < value.size() && value[i] != ';') i = value[i] == '(' ? skip_comment(value, i) : i + 1;
  }
  while (i < value.size()) {  // at a ';' here; each pass consumes at least it
    i = skip_cfws(value, i + 1);
    std::string name;
    i = read_token(value, i, name);
    i = skip_cfws(value, i);
    if (i < value.size() && value[i] == '=' && !name.empty()) {
      std::string v;
      i = read_value(value, i + 1, v);
      params.push_back({std::move(name), std::move(v)});
    } else {
      // "; junk" without '=': skipped up to the next ';'.
      while (i < value.size() && value[i] != ';') i = value[i] == '(' ? skip_comment(value, i) : i + 1;
    }
  }
  return ok;
}

}  // namespace ringmta::mail
