// tests/unit/proto/imap/fetch_check.h — an independent reader of one
// untagged FETCH response (RFC 9051 §7.5.2 msg-att, RFC 3516 literal8), for
// the unit tests and the fuzz target: "* n FETCH (" name SP value *(SP name SP
// value) ")\r\n" and nothing after. Names are atoms with an optional
// "[section]" (which may hold a quoted/atom header list) and "<origin>";
// (names may be literals too); values are numbers, NIL, quoted strings, literals "{n}\r\n" + n bytes
// (no NUL), literal8 "~{n}\r\n" (only for BINARY[...]) or parenthesised lists
// checked by syntax_check.h. Header-only, standard library only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/proto/imap/syntax_check.h"

namespace ringmta::imap::test {

struct FetchItemText {
  std::string name;   // "BODY[1.MIME]<0>"
  std::string value;  // a literal's bytes, else the value as written
  bool literal = false, literal8 = false;
};

struct ParsedFetch {
  std::string error;  // "" when well-formed
  unsigned long seq = 0;
  std::vector<FetchItemText> items;
  const FetchItemText* find(std::string_view name) const {
    for (const auto& i : items)
      if (i.name == name) return &i;
    return nullptr;
  }
};

// Reads one response that must fill all of `s`.
inline ParsedFetch parse_fetch_response(std::string_view s, bool utf8 = false) {
  ParsedFetch r;
  size_t i = 0;
  auto fail = [&](const char* what) {
    r.error = std::string(what) + " at offset " + std::to_string(i);
    return r;
  };
  auto digits = [&](unsigned long long& n) {
    size_t start = i;
    n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 19) n = n * 10 + static_cast<unsigned>(s[i++] - '0');
    return i > start;
  };
  unsigned long long n = 0;
  if (s.substr(0, 2) != "* ") return fail("no \"* \"");
  i = 2;
  if (!digits(n) || n == 0) return fail("bad sequence number");
  r.seq = n;
  if (s.substr(i, 8) != " FETCH (") return fail("no \" FETCH (\"");
  i += 8;
  for (;;) {  // one item per turn; each consumes bytes or fails
    FetchItemText it;
    size_t start = i;
    while (i < s.size() && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
    if (i == start) return fail("no item name");
    if (i < s.size() && s[i] == '[') {
      size_t close = i + 1;
      int depth = 0;  // inside the header list
      for (; close < s.size(); ++close) {
        char c = s[close];
        if (c == '(') ++depth;
        if (c == ')') --depth;
        if (c == '"') {  // a quoted header name
          for (++close; close < s.size() && s[close] != '"'; ++close)
            if (s[close] == '\\') ++close;
        }
        if (c == '{') {  // a header name written as a literal (8-bit, CR/LF)
          size_t save = i;
          i = close + 1;
          if (!digits(n) || s.substr(i, 3) != "}\r\n" || n > s.size() - i - 3) return fail("bad literal in section");
          close = i + 2 + n;
          i = save;
          continue;
        }
        if (c == ']' && depth == 0) break;
        if (c == '\r' || c == '\n') return fail("bad section");
      }
      if (close >= s.size() || depth != 0) return fail("unclosed section");
      std::string list = std::string(s.substr(i + 1, close - i - 1));
      size_t paren = list.find('(');
      if (paren != std::string::npos && !check_imap_data(list.substr(paren), utf8).empty())
        return fail("bad header list");
      i = close + 1;
      if (i < s.size() && s[i] == '<') {
        ++i;
        if (!digits(n) || i >= s.size() || s[i] != '>') return fail("bad origin");
        ++i;
      }
    }
    it.name = std::string(s.substr(start, i - start));
    if (i >= s.size() || s[i] != ' ') return fail("no SP after name");
    ++i;
    size_t vstart = i;
    if (i < s.size() && (s[i] == '{' || s[i] == '~')) {
      it.literal = true;
      it.literal8 = s[i] == '~';
      if (it.literal8) {
        if (it.name.rfind("BINARY[", 0) != 0) return fail("literal8 outside BINARY");
        ++i;
      }
      if (i >= s.size() || s[i] != '{') return fail("bad literal8");
      ++i;
      if (!digits(n) || s.substr(i, 3) != "}\r\n") return fail("bad literal header");
      i += 3;
      if (n > s.size() - i) return fail("literal longer than the response");
      it.value = std::string(s.substr(i, n));
      if (!it.literal8 && it.value.find('\0') != std::string::npos) return fail("NUL in literal");
      i += n;
    } else if (i < s.size() && s[i] == '(') {
      // A list: find its end, skipping quoted strings and literals.
      int depth = 0;
      size_t k = i;
      for (; k < s.size(); ++k) {
        char c = s[k];
        if (c == '(') ++depth;
        else if (c == ')' && --depth == 0) break;
        else if (c == '"') {
          for (++k; k < s.size() && s[k] != '"'; ++k)
            if (s[k] == '\\') ++k;
        } else if (c == '{') {
          size_t save = i;
          i = k + 1;
          if (!digits(n) || s.substr(i, 3) != "}\r\n" || n > s.size() - i - 3) return fail("bad literal in list");
          k = i + 2 + n;
          i = save;
        }
      }
      if (k >= s.size()) return fail("unclosed list");
      std::string err = check_imap_data(s.substr(i, k + 1 - i), utf8);
      if (!err.empty()) {
        r.error = "bad list value: " + err;
        return r;
      }
      it.value = std::string(s.substr(i, k + 1 - i));
      i = k + 1;
    } else if (i < s.size() && s[i] == '"') {
      size_t k = i + 1;
      for (; k < s.size() && s[k] != '"'; ++k)
        if (s[k] == '\\') ++k;
      if (k >= s.size()) return fail("unclosed quoted string");
      std::string err = check_imap_data(s.substr(i, k + 1 - i), utf8);
      if (!err.empty()) return fail("bad quoted string");
      it.value = std::string(s.substr(i, k + 1 - i));
      i = k + 1;
    } else {
      while (i < s.size() && s[i] != ' ' && s[i] != ')') ++i;
      it.value = std::string(s.substr(vstart, i - vstart));
      bool number = !it.value.empty() && it.value.find_first_not_of("0123456789") == std::string::npos;
      if (!number && it.value != "NIL") return fail("value is not a number or NIL");
    }
    r.items.push_back(std::move(it));
    if (i < s.size() && s[i] == ' ') {
      ++i;
      continue;
    }
    if (s.substr(i) != ")\r\n") return fail("bad end of response");
    return r;
  }
}

}  // namespace ringmta::imap::test
