// tests/unit/proto/imap/syntax_check.h — a small independent reader of
// IMAP response data (RFC 3501 §4, §9) used by the unit tests and the fuzz
// target to check what proto/imap/response.h writes: parentheses balanced,
// items separated by exactly one SP (none after "(" or before ")"), quoted
// strings closed with only '"' and '\' escaped and no CR, LF or NUL inside (8-bit
// only when UTF-8 is allowed, and then valid UTF-8), literals "{n}\r\n" followed
// by exactly n bytes none of them NUL, atoms of ATOM-CHARs (a leading '\' for
// flags). Header-only and dependency-free so the fuzz target can use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmta::imap::test {

// Returns "" when `s` is well-formed, else what is wrong and where.
inline std::string check_imap_data(std::string_view s, bool utf8 = false) {
  auto fail = [&](size_t at, const char* what) {
    return std::string(what) + " at offset " + std::to_string(at);
  };
  auto atom_char = [](unsigned char c) {
    if (c <= 0x20 || c >= 0x7f) return false;
    switch (c) {
      case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
        return false;
      default:
        return true;
    }
  };
  size_t depth = 0;
  size_t i = 0;
  char prev = '(';  // what came before: '(' open, ')' close, 'x' item, ' ' space
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == ' ') {
      if (prev == ' ' || prev == '(') return fail(i, "misplaced SP");
      prev = ' ';
      ++i;
      continue;
    }
    if (c == ')') {
      if (depth == 0) return fail(i, "unbalanced )");
      if (prev == ' ') return fail(i, "SP before )");
      --depth;
      prev = ')';
      ++i;
      continue;
    }
    // An item or "(" must follow SP, "(" or ")" (lists of bodies touch) or start.
    if (prev == 'x') return fail(i, "items not separated");
    if (c == '(') {
      ++depth;
      prev = '(';
      ++i;
      continue;
    }
    if (c == '"') {
      size_t k = i + 1;
      for (;; ++k) {
        if (k >= s.size()) return fail(i, "unterminated quoted string");
        unsigned char q = static_cast<unsigned char>(s[k]);
        if (q == '"') break;
        if (q == '\r' || q == '\n' || q == 0) return fail(k, "CR, LF or NUL in quoted string");
        if (q == '\\') {
          if (k + 1 >= s.size() || (s[k + 1] != '"' && s[k + 1] != '\\'))
            return fail(k, "bad escape in quoted string");
          ++k;
          continue;
        }
        if (q >= 0x80) {
          if (!utf8) return fail(k, "8-bit byte in quoted string");
          size_t n = (q >= 0xf0 && q <= 0xf4) ? 4 : (q >= 0xe0) && q < 0xf0 ? 3 : (q >= 0xc2 && q < 0xe0) ? 2 : 0;
          if (n == 0 || k + n > s.size()) return fail(k, "bad UTF-8 in quoted string");
          for (size_t m = 1; m < n; ++m)
            if ((static_cast<unsigned char>(s[k + m]) & 0xc0) != 0x80)
              return fail(k, "bad UTF-8 in quoted string");
          k += n - 1;
        }
      }
      i = k + 1;
      prev = 'x';
      continue;
    }
    if (c == '{') {
      size_t k = i + 1;
      size_t n = 0, digits = 0;
      while (k < s.size() && s[k] >= '0' && s[k] <= '9' && digits < 12) {
        n = n * 10 + static_cast<size_t>(s[k] - '0');
        ++k;
        ++digits;
      }
      if (digits == 0 || s.substr(k, 3) != "}\r\n") return fail(i, "bad literal header");
      k += 3;
      if (n > s.size() - k) return fail(i, "literal longer than the data");
      if (s.substr(k, n).find('\0') != std::string_view::npos) return fail(k, "NUL in literal");
      i = k + n;
      prev = 'x';
      continue;
    }
    size_t k = i;
    if (c == '\\') ++k;  // a flag
    size_t start = k;
    // ASTRING-CHAR: an astring may also hold ']' (resp-specials).
    while (k < s.size() && (atom_char(static_cast<unsigned char>(s[k])) || s[k] == ']')) ++k;
    if (k == start) return fail(i, "unexpected byte");
    i = k;
    prev = 'x';
  }
  if (depth != 0) return fail(s.size(), "unclosed (");
  return "";
}

}  // namespace ringmta::imap::test
