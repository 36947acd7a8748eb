// mail/address.h — RFC 5321 envelope addresses: paths, mailboxes, domains.
//
// The SMTP server parses MAIL FROM / RCPT TO paths with parse_path(); the
// queue and delivery code use domain_of() and domain_equal() to route. What
// is accepted (RFC 5321 §4.1.2 and §4.5.3.1):
//   <local@domain>, local = dot-string or quoted-string,
//   domain = LDH labels, or an address literal [1.2.3.4] / [IPv6:...] /
//   [tag:text] (general literal),
//   source routes <@a,@b:u@d> (accepted, each hop checked, then dropped as
//   §4.1.2/§C tell servers to do),
//   the null path <> only when the caller allows it (MAIL FROM),
//   UTF-8 in local part and domain only when the caller says SMTPUTF8 is in
//   effect (RFC 6531); invalid UTF-8 is always a syntax error.
// Lenient like Postfix by default: a path without angle brackets
// ("MAIL FROM:a@b") is accepted when PathOptions::allow_bare is set.
// Limits: local part 64, domain 255, whole path 256 octets.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ringmta::mail {

inline constexpr size_t kMaxLocalPart = 64;
inline constexpr size_t kMaxDomain = 255;
inline constexpr size_t kMaxPath = 256;  // including "<" and ">"

enum class AddressStatus {
  Ok,
  Syntax,    // not a valid path/mailbox
  TooLong,   // a §4.5.3.1 limit exceeded
  NonAscii,  // 8-bit bytes but UTF-8 not allowed (SMTPUTF8 not in effect)
};

struct PathOptions {
  bool allow_null = false;  // "<>" (reverse-path only)
  bool allow_utf8 = false;  // SMTPUTF8 in effect
  bool allow_bare = true;   // accept "local@domain" without angle brackets
};

struct PathResult {
  AddressStatus status = AddressStatus::Syntax;
  std::string address;   // "local@domain" (route dropped); "" for the null path
  size_t consumed = 0;   // bytes of the input that formed the path
  bool is_null = false;
  bool non_ascii = false;  // the address contains 8-bit (UTF-8) bytes
  bool source_route = false;  // "<@a,@b:...>" was given (and dropped from `address`)
};

// Parse a path at the start of `in`. The path must be followed by the end of
// `in` or by a space (where ESMTP parameters begin); `consumed` says where.
PathResult parse_path(std::string_view in, const PathOptions& opts = {});

// Validate a whole "local@domain" mailbox (no brackets, no route).
AddressStatus check_mailbox(std::string_view mailbox, bool allow_utf8);

// Validate a domain: LDH labels (U-labels when allow_utf8) or an address literal.
bool valid_domain(std::string_view domain, bool allow_utf8);

// True when `s` is a syntactically valid IPv4 dotted quad / IPv6 text address.
bool valid_ipv4(std::string_view s);
bool valid_ipv6(std::string_view s);


// Sender-specified routing in a mailbox's local part: '%' ("user%host@relay"),
// '!' (UUCP "host!user@relay") or an '@' inside a quoted local part
// ("\"user@host\"@relay"). Each asks the receiving host to forward the mail
// elsewhere; the SMTP server refuses them from untrusted clients (Postfix's
// allow_untrusted_routing = no), together with PathResult::source_route.
bool has_routing_local_part(std::string_view address);

// The part after the last '@' ("" if none). Postmaster without a domain has none.
std::string_view domain_of(std::string_view address);
// The domain of a recipient or sender address, lower-cased (ASCII): what
// routing, selectors and per-domain policy compare. "" if there is none.
std::string recipient_domain(std::string_view address);
// The part before the last '@' (the whole string if none).
std::string_view local_part_of(std::string_view address);

// ASCII case-insensitive comparison (domains; U-labels compare byte-wise).
bool domain_equal(std::string_view a, std::string_view b);

}  // namespace ringmta::mail
