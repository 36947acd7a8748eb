// mail/text_escape.cpp — see text_escape.h.
#include "mail/text_escape.h"

#include <cstdint>

namespace ringmta::mail {
namespace {

// The code point of the valid sequence of length n at s[i].
uint32_t code_point(std::string_view s, size_t i, size_t n) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (n == 1) return b(0);
  uint32_t cp = b(0) & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (b(k) & 0x3F);
  return cp;
}

// Code points shown as \uNNNN although valid: they act on a terminal or on
// how the rest of the line is displayed.
bool display_control(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool plain(unsigned char c, bool keep_tabs) { return (c >= 0x20 && c < 0x7F) || (keep_tabs && c == '\t'); }

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t n;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  const uint32_t cp = code_point(s, i, n);
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

bool needs_log_escape(std::string_view s, bool keep_tabs) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (plain(c, keep_tabs)) {
      ++i;
      continue;
    }
    if (c < 0x80) return true;  // a control byte or DEL
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0 || display_control(code_point(s, i, n))) return true;
    i += n;
  }
  return false;
}

std::string escape_for_log(std::string_view s, bool keep_tabs) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (plain(c, keep_tabs)) {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    if (c < 0x80) {
      if (c == '\r') {
        out += "\\r";
      } else if (c == '\n') {
        out += "\\n";
      } else if (c == '\t') {
        out += "\\t";
      } else {
        out += "\\x";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {  // not UTF-8: the byte itself
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
      ++i;
      continue;
    }
    const uint32_t cp = code_point(s, i, n);
    if (display_control(cp)) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out.push_back(kHex[(cp >> shift) & 15]);
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace ringmta::mail
