// dkim/tags.cpp — see tags.h.
#include "dkim/tags.h"

namespace ringmta::dkim {
namespace {

bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool value_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7e && c != ';';
}

// Skip FWS ([*WSP CRLF] 1*WSP, loosely: any run of WSP and CRLF followed by
// WSP). Returns false on a CRLF not followed by WSP (a broken fold).
bool skip_fws(std::string_view s, size_t& i) {
  for (;;) {
    if (i < s.size() && (s[i] == ' ' || s[i] == '\t')) {
      ++i;
    } else if (i + 1 < s.size() && s[i] == '\r' && s[i + 1] == '\n') {
      if (i + 2 >= s.size() || (s[i + 2] != ' ' && s[i + 2] != '\t')) return false;
      i += 2;
    } else {
      return true;
    }
  }
}

}  // namespace

std::optional<std::string_view> TagList::get(std::string_view name) const {
  for (const auto& [k, v] : tags)
    if (k == name) return std::string_view(v);
  return std::nullopt;
}

TagList parse_tags(std::string_view s, size_t max_tags) {
  TagList out;
  size_t i = 0;
  auto fail = [&](std::string why) {
    out.tags.clear();
    out.error = std::move(why) + " at offset " + std::to_string(i);
    return out;
  };
  // Each pass consumes at least one byte (a name) or ends.
  while (i < s.size()) {
    if (!skip_fws(s, i)) return fail("broken folding");
    if (i == s.size()) break;  // trailing ";" followed by FWS
    if (!alpha(s[i])) return fail("expected a tag name");
    const size_t name_start = i;
    while (i < s.size() && (alpha(s[i]) || digit(s[i]) || s[i] == '_')) ++i;
    std::string name(s.substr(name_start, i - name_start));
    if (!skip_fws(s, i)) return fail("broken folding");
    if (i == s.size() || s[i] != '=') return fail("expected '=' after tag " + name);
    ++i;
    if (!skip_fws(s, i)) return fail("broken folding");
    std::string value;
    size_t fws_start = std::string::npos;  // FWS inside the value, kept only if a char follows
    while (i < s.size() && s[i] != ';') {
      if (value_char(s[i])) {
        if (fws_start != std::string::npos) value.append(s.substr(fws_start, i - fws_start));
        fws_start = std::string::npos;
        value += s[i++];
        continue;
      }
      const size_t before = i;
      if (!skip_fws(s, i)) return fail("broken folding in the value of " + name);
      if (i == before) return fail("invalid character in the value of " + name);
      fws_start = before;
    }
    if (out.get(name)) return fail("tag " + name + " appears twice");
    if (out.tags.size() >= max_tags) return fail("too many tags");
    out.tags.emplace_back(std::move(name), std::move(value));
    if (i < s.size()) ++i;  // the ';'
  }
  return out;
}

std::string strip_fws(std::string_view value) {
  std::string out;
  for (char c : value)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') out += c;
  return out;
}

}  // namespace ringmta::dkim
