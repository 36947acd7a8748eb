// proto/imap/mutf7.cpp — modified UTF-7 mailbox names (RFC 3501 §5.1.3) and
// the UTF8=ACCEPT name check (RFC 6855 §3). See mutf7.h for the rules.
#include "proto/imap/mutf7.h"

#include <cstdint>
#include <vector>

#include "base/text.h"

namespace ringmta::imap {
namespace {

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

bool printable_ascii(uint32_t cp) { return cp >= 0x20 && cp <= 0x7e; }

bool allowed_code_point(uint32_t cp) {
  return cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f) && cp != 0x2028 && cp != 0x2029;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// Modified base64 of UTF-16BE units, without padding; the last character
// carries the remaining bits with zeros after them (the minimal form).
void append_shift(std::string& out, const std::vector<uint16_t>& units) {
  out += '&';
  uint32_t acc = 0;
  int bits = 0;
  for (uint16_t u : units) {
    acc = (acc << 16) | u;
    bits += 16;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(acc >> bits) & 0x3f];
    }
    acc &= (1u << bits) - 1;  // keep only the bits not written yet
  }
  if (bits > 0) out += kAlphabet[(acc << (6 - bits)) & 0x3f];
  out += '-';
}

}  // namespace

bool valid_utf8_mailbox_name(std::string_view utf8) {
  for (size_t i = 0; i < utf8.size();) {
    size_t n = base::utf8_sequence_length(utf8, i);
    if (n == 0) return false;
    if (!allowed_code_point(base::utf8_code_point(utf8, i, n))) return false;
    i += n;
  }
  return true;
}

std::optional<std::string> mutf7_encode(std::string_view utf8) {
  if (!valid_utf8_mailbox_name(utf8)) return std::nullopt;
  std::string out;
  std::vector<uint16_t> units;  // the pending run of characters to shift
  for (size_t i = 0; i < utf8.size();) {
    size_t n = base::utf8_sequence_length(utf8, i);  // > 0: checked above
    uint32_t cp = base::utf8_code_point(utf8, i, n);
    i += n;
    if (printable_ascii(cp)) {
      if (!units.empty()) {
        append_shift(out, units);
        units.clear();
      }
      out += static_cast<char>(cp);
      if (cp == '&') out += '-';
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<uint16_t>(0xd800 | (cp >> 10)));
      units.push_back(static_cast<uint16_t>(0xdc00 | (cp & 0x3ff)));
    } else {
      units.push_back(static_cast<uint16_t>(cp));
    }
  }
  if (!units.empty()) append_shift(out, units);
  return out;
}

std::optional<std::string> mutf7_decode(std::string_view in) {
  std::string out;
  bool after_shift = false;  // the previous element was a base64 shift
  size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    if (!printable_ascii(static_cast<unsigned char>(c))) return std::nullopt;
    if (c != '&') {
      out += c;
      after_shift = false;
      ++i;
      continue;
    }
    size_t end = in.find('-', i + 1);
    if (end == std::string_view::npos) return std::nullopt;
    if (end == i + 1) {  // "&-" is '&'
      out += '&';
      after_shift = false;
      i = end + 1;
      continue;
    }
    if (after_shift) return std::nullopt;  // two shifts in a row: not minimal
    uint32_t acc = 0;
    int bits = 0;
    uint32_t high = 0;  // a pending high surrogate
    for (size_t k = i + 1; k < end; ++k) {
      int v = base64_value(in[k]);
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<uint32_t>(v);
      bits += 6;
      if (bits < 16) continue;
      bits -= 16;
      uint32_t u = (acc >> bits) & 0xffff;
      acc &= (1u << bits) - 1;
      if (high != 0) {
        if (u < 0xdc00 || u > 0xdfff) return std::nullopt;
        uint32_t cp = 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00);
        append_utf8(out, cp);
        high = 0;
      } else if (u >= 0xd800 && u <= 0xdbff) {
        high = u;
      } else if (u >= 0xdc00 && u <= 0xdfff) {
        return std::nullopt;
      } else {
        // Printable ASCII must stand for itself; the rest must be allowed in a name.
        if (printable_ascii(u) || !allowed_code_point(u)) return std::nullopt;
        append_utf8(out, u);
      }
    }
    // Minimal form: fewer than 6 bits left over, all zero; no dangling surrogate.
    if (high != 0 || bits >= 6 || acc != 0) return std::nullopt;
    after_shift = true;
    i = end + 1;
  }
  return out;
}

}  // namespace ringmta::imap
