// mail/text_escape.cpp — see text_escape.h.
#include "mail/text_escape.h"

#include <cstdint>

#include "base/text.h"

namespace ringmta::mail {

using base::utf8_code_point;
using base::utf8_sequence_length;
using base::append_hex_byte;

namespace {

// Code points shown as \uNNNN although valid: they act on a terminal or on
// how the rest of the line is displayed.
bool display_control(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069);
}

bool plain(unsigned char c, bool keep_tabs) { return (c >= 0x20 && c < 0x7F) || (keep_tabs && c == '\t'); }

}  // namespace

bool needs_log_escape(std::string_view s, bool keep_tabs) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (plain(c, keep_tabs)) {
      ++i;
      continue;
    }
    if (c < 0x80) return true;  // a control byte or DEL
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0 || display_control(utf8_code_point(s, i, n))) return true;
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
        append_hex_byte(out, c);
      }
      ++i;
      continue;
    }
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) {  // not UTF-8: the byte itself
      out += "\\x";
      append_hex_byte(out, c);
      ++i;
      continue;
    }
    const uint32_t cp = utf8_code_point(s, i, n);
    if (display_control(cp)) {
      out += "\\u";
      append_hex_byte(out, static_cast<unsigned char>((cp >> 8) & 0xFF));  // four digits
      append_hex_byte(out, static_cast<unsigned char>(cp & 0xFF));
    } else {
      out.append(s.substr(i, n));
    }
    i += n;
  }
  return out;
}

}  // namespace ringmta::mail
