// relay/mta_sts_policy.h — MTA-STS (RFC 8461) as text: the "_mta-sts" TXT
// record, the policy file served at https://mta-sts.DOMAIN/.well-known/
// mta-sts.txt, and the MX pattern match that decides whether a host may
// receive a domain's mail.
//
// Pure: bytes in, structures out; no sockets, clocks or threads, so the
// fetcher (mta_sts_fetcher.h), the delivery side (tls_policy.h), the unit
// tests and the fuzz target (tests/fuzz/mta_sts_policy.cmake) all share it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::relay::mta_sts {

// RFC 8461 §3.3: a policy larger than this is refused.
inline constexpr size_t kMaxPolicySize = 64 * 1024;
// RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year).
inline constexpr uint32_t kMaxAge = 31557600;

enum class Mode : uint8_t { None, Testing, Enforce };
const char* to_string(Mode mode);

struct Policy {
  Mode mode = Mode::None;
  uint32_t max_age = 0;           // seconds, clamped to kMaxAge
  std::vector<std::string> mx;    // lower case patterns: "mx.example.com" or "*.example.net"
  bool operator==(const Policy&) const = default;
};

// The policy body (RFC 8461 §3.2): "key: value" lines ended by CRLF or LF;
// version must be STSv1, mode one of enforce/testing/none, max_age digits
// (1-10), mx at least once unless mode is none; unknown keys are ignored,
// for repeated keys other than mx the first one counts. Null and `error`
// when the policy is not valid (the caller then has no policy).
std::optional<Policy> parse_policy(std::string_view text, std::string* error);

// One TXT record's text (the character-strings joined). "v=STSv1; id=X;"
// (RFC 8461 §3.1): v first, then id of 1-32 letters and digits; other
// fields are ignored. Returns the id, or null when the record is not an
// STSv1 record or is malformed (`error` says which).
std::optional<std::string> parse_txt(std::string_view record, std::string* error);

// The id of a domain's TXT answer: records not starting "v=STSv1" are
// skipped; exactly one STSv1 record must remain and be valid (§3.1: more
// than one means no policy). Null and `error` otherwise.
std::optional<std::string> select_txt(const std::vector<std::string>& records, std::string* error);

// RFC 8461 §4.1: `host` (an MX name, any case, trailing dot allowed) against
// one pattern: equal ignoring case, or "*.rest" where the wildcard stands
// for exactly one whole leftmost label.
bool mx_matches(std::string_view pattern, std::string_view host);
bool policy_allows(const Policy& policy, std::string_view host);

}  // namespace ringmta::relay::mta_sts
