// mail/address.cpp — RFC 5321 path/mailbox/domain syntax (see address.h).
//
// Hand-written because the grammar is small and exact, and because the SMTP
// server and the fuzzer need a parser without allocation-heavy machinery.
// Every loop walks the input once; nothing here recurses.
#include "mail/address.h"

#include <cstdint>

#include "base/text.h"

namespace ringmta::mail {

using base::to_lower_ascii;
using base::valid_utf8;
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
bool is_8bit(unsigned char c) { return c >= 0x80; }

// RFC 5322 atext (RFC 6531 adds UTF8-non-ascii, checked by the caller).
bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

bool has_8bit(std::string_view s) {
  for (unsigned char c : s)
    if (is_8bit(c)) return true;
  return false;
}

// Dot-string = Atom *("." Atom).
bool valid_dot_string(std::string_view s) {
  if (s.empty()) return false;
  bool prev_dot = true;  // forbids a leading dot
  for (unsigned char c : s) {
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
    } else if (is_atext(c) || is_8bit(c)) {
      prev_dot = false;
    } else {
      return false;
    }
  }
  return !prev_dot;  // no trailing dot
}

// Length of the Quoted-string at the start of `s` (which begins with '"'),
// or 0 when it is malformed or unterminated.
size_t quoted_string_length(std::string_view s) {
  for (size_t i = 1; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') return i + 1;
    if (c == '\\') {
      if (i + 1 >= s.size()) return 0;
      unsigned char n = static_cast<unsigned char>(s[i + 1]);
      if (n < 32 || n > 126) return 0;  // quoted-pairSMTP = %d92 %d32-126
      ++i;
    } else if (!(c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126) ||
                 is_8bit(c))) {
      return 0;  // qtextSMTP
    }
  }
  return 0;
}

// Ldh-str ending in Let-dig (the tag of a general address literal).
bool valid_ldh(std::string_view s) {
  if (s.empty() || s.back() == '-') return false;
  for (unsigned char c : s)
    if (!is_alpha(c) && !is_digit(c) && c != '-') return false;
  return true;
}

bool valid_address_literal(std::string_view inner) {
  if (inner.size() > 5 && (inner.substr(0, 5) == "IPv6:" || inner.substr(0, 5) == "ipv6:" ||
                           inner.substr(0, 5) == "IPV6:"))
    return valid_ipv6(inner.substr(5));
  if (valid_ipv4(inner)) return true;
  // General-address-literal = Standardized-tag ":" 1*dcontent
  size_t colon = inner.find(':');
  if (colon == std::string_view::npos || colon + 1 >= inner.size()) return false;
  if (!valid_ldh(inner.substr(0, colon))) return false;
  // dcontent = %d33-90 / %d94-126, minus '@': no registered tag needs it, and
  // keeping '@' out of domains lets domain_of() split at the last '@'.
  for (unsigned char c : inner.substr(colon + 1))
    if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126)) || c == '@') return false;
  return true;
}

// Count the 16-bit groups of one side of an IPv6 "::" split. An IPv4 tail
// (only allowed at the very end) counts as two groups.
bool ipv6_groups(std::string_view part, bool v4_tail_ok, int& groups) {
  groups = 0;
  if (part.empty()) return true;
  size_t start = 0;
  while (true) {
    size_t colon = part.find(':', start);
    std::string_view g =
        part.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    bool last = colon == std::string_view::npos;
    if (last && v4_tail_ok && g.find('.') != std::string_view::npos) {
      if (!valid_ipv4(g)) return false;
      groups += 2;
      return true;
    }
    if (g.empty() || g.size() > 4) return false;
    for (unsigned char c : g)
      if (!is_hex(c)) return false;
    ++groups;
    if (last) return true;
    start = colon + 1;
    if (groups > 8) return false;
  }
}

}  // namespace

bool valid_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    unsigned value = 0;
    while (i < s.size() && is_digit(static_cast<unsigned char>(s[i])) && digits < 4) {
      value = value * 10 + static_cast<unsigned>(s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) return parts == 4;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
}

bool valid_ipv6(std::string_view s) {
  if (s.empty()) return false;
  size_t dbl = s.find("::");
  if (dbl == std::string_view::npos) {
    int n = 0;
    return ipv6_groups(s, true, n) && n == 8;
  }
  if (s.find("::", dbl + 1) != std::string_view::npos) return false;
  int left = 0, right = 0;
  return ipv6_groups(s.substr(0, dbl), false, left) &&
         ipv6_groups(s.substr(dbl + 2), true, right) && left + right <= 7;
}

bool valid_domain(std::string_view d, bool allow_utf8) {
  if (d.empty() || d.size() > kMaxDomain) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    return valid_address_literal(d.substr(1, d.size() - 2));
  }
  size_t label_len = 0;
  unsigned char prev = '.';
  for (unsigned char c : d) {
    if (c == '.') {
      if (label_len == 0 || prev == '-') return false;
      label_len = 0;
    } else {
      if (is_8bit(c)) {
        if (!allow_utf8) return false;
      } else if (c == '-') {
        if (label_len == 0) return false;  // label may not start with '-'
      } else if (!is_alpha(c) && !is_digit(c)) {
        return false;
      }
      if (++label_len > 63) return false;
    }
    prev = c;
  }
  if (label_len == 0 || prev == '-') return false;
  return !has_8bit(d) || valid_utf8(d);
}

AddressStatus check_mailbox(std::string_view m, bool allow_utf8) {
  if (m.empty()) return AddressStatus::Syntax;
  size_t at;
  if (m.front() == '"') {
    size_t q = quoted_string_length(m);
    if (q == 0 || q >= m.size() || m[q] != '@') return AddressStatus::Syntax;
    at = q;
  } else {
    at = m.find('@');  // a dot-string has no '@' of its own
    if (at == std::string_view::npos || !valid_dot_string(m.substr(0, at)))
      return AddressStatus::Syntax;
  }
  std::string_view domain = m.substr(at + 1);
  if (domain.size() > kMaxDomain) return AddressStatus::TooLong;
  if (!valid_domain(domain, true)) return AddressStatus::Syntax;
  if (at > kMaxLocalPart) return AddressStatus::TooLong;
  if (has_8bit(m)) {
    if (!valid_utf8(m)) return AddressStatus::Syntax;
    if (!allow_utf8) return AddressStatus::NonAscii;
  }
  return AddressStatus::Ok;
}

PathResult parse_path(std::string_view in, const PathOptions& opts) {
  PathResult r;
  auto finish = [&](size_t end) -> bool {
    // A path ends at the end of input or at the space before parameters.
    if (end < in.size() && in[end] != ' ') return false;
    r.consumed = end;
    return true;
  };
  if (in.empty()) return r;
  if (in.front() != '<') {
    if (!opts.allow_bare) return r;
    size_t end = 0;
    if (in.front() == '"') {  // a quoted local part may contain spaces
      size_t q = quoted_string_length(in);
      if (q == 0) return r;
      end = q;
    }
    end = in.find(' ', end);
    if (end == std::string_view::npos) end = in.size();
    std::string_view m = in.substr(0, end);
    if (end > kMaxPath - 2) {
      r.status = AddressStatus::TooLong;
      return r;
    }
    r.status = check_mailbox(m, opts.allow_utf8);
    if (r.status != AddressStatus::Ok && r.status != AddressStatus::NonAscii) return r;
    r.non_ascii = has_8bit(m);
    r.address.assign(m);
    finish(end);
    return r;
  }
  // "<>"
  if (in.size() >= 2 && in[1] == '>') {
    if (!opts.allow_null || !finish(2)) return r;
    r.status = AddressStatus::Ok;
    r.is_null = true;
    return r;
  }
  size_t i = 1;
  const bool route = i < in.size() && in[i] == '@';
  if (route) {
    // A-d-l = At-domain *( "," At-domain ) ":" — checked, then dropped.
    while (true) {
      if (i >= in.size() || in[i] != '@') return r;
      size_t end = in.find_first_of(",:>", i + 1);
      if (end == std::string_view::npos) return r;
      if (!valid_domain(in.substr(i + 1, end - i - 1), opts.allow_utf8)) return r;
      i = end + 1;
      if (in[end] == ':') break;
      if (in[end] != ',') return r;
    }
  }
  size_t start = i;
  size_t scan = i;
  if (scan < in.size() && in[scan] == '"') {
    size_t q = quoted_string_length(in.substr(scan));
    if (q == 0) return r;
    scan += q;
  }
  size_t gt = in.find('>', scan);
  if (gt == std::string_view::npos) return r;
  if (gt + 1 > kMaxPath) {
    r.status = AddressStatus::TooLong;
    return r;
  }
  std::string_view m = in.substr(start, gt - start);
  r.status = check_mailbox(m, opts.allow_utf8);
  if (r.status == AddressStatus::Ok || r.status == AddressStatus::NonAscii) {
    if (!finish(gt + 1)) {
      r.status = AddressStatus::Syntax;
      return r;
    }
    r.non_ascii = has_8bit(in.substr(0, gt));
    r.address.assign(m);
    r.source_route = route;
  }
  return r;
}

bool has_routing_local_part(std::string_view address) {
  // The local part is everything before the last '@' (domains hold no '@'),
  // quotes included, so a quoted '@' shows up here too.
  return local_part_of(address).find_first_of("%!@") != std::string_view::npos;
}

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view{} : address.substr(at + 1);
}

std::string recipient_domain(std::string_view address) { return to_lower_ascii(domain_of(address)); }

std::string_view local_part_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? address : address.substr(0, at);
}

bool domain_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return false;
  }
  return true;
}

}  // namespace ringmta::mail
