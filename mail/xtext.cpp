// mail/xtext.cpp — RFC 3461 xtext decode/encode (see xtext.h).
#include "mail/xtext.h"

#include "base/text.h"

namespace ringmta::mail {
namespace {

// Value of an upper-case hex digit, or -1. RFC 3461 says "%x30-39 / %x41-46".
int hex_upper(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_xchar(unsigned char c) { return c >= 33 && c <= 126 && c != '+' && c != '='; }

}  // namespace

std::optional<std::string> xtext_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    if (c == '+') {
      if (i + 2 >= in.size()) return std::nullopt;  // needs two more bytes
      int hi = hex_upper(in[i + 1]);
      int lo = hex_upper(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (is_xchar(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      return std::nullopt;
    }
  }
  return out;
}

bool xtext_valid(std::string_view in) { return xtext_decode(in).has_value(); }

std::string xtext_encode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (char ch : in) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (is_xchar(c)) {
      out.push_back(ch);
    } else {
      out.push_back('+');
      base::append_hex_byte(out, c, true);  // RFC 3461 §4: upper-case hex
    }
  }
  return out;
}

}  // namespace ringmta::mail
