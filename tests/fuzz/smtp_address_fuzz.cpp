// tests/fuzz/smtp_address_fuzz.cpp — libFuzzer target for mail/address,
// mail/xtext and mail/datetime (the pure pieces the SMTP server relies on).
//
// Invariants: an accepted path yields a mailbox that check_mailbox accepts
// again, with a valid domain, within the RFC 5321 limits, and `consumed`
// ends at the end or at a space; xtext_decode(xtext_encode(x)) == x; an
// xtext that decodes re-encodes to something that decodes the same.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "base/text.h"
#include "mail/address.h"
#include "mail/datetime.h"
#include "mail/xtext.h"

using namespace ringmta::mail;

namespace {
void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int variant = 0; variant < 8; ++variant) {
    PathOptions o;
    o.allow_null = variant & 1;
    o.allow_utf8 = variant & 2;
    o.allow_bare = variant & 4;
    PathResult r = parse_path(in, o);
    if (r.status != AddressStatus::Ok) continue;
    check(r.consumed <= in.size(), "consumed within input");
    check(r.consumed == in.size() || in[r.consumed] == ' ', "path ends at end or space");
    if (r.is_null) {
      check(o.allow_null && r.address.empty(), "null path only when allowed");
      continue;
    }
    check(check_mailbox(r.address, o.allow_utf8) == AddressStatus::Ok, "mailbox re-validates");
    check(r.address.size() <= kMaxPath - 2, "path limit");
    check(valid_domain(domain_of(r.address), o.allow_utf8), "domain valid");
    check(domain_of(r.address).size() <= kMaxDomain, "domain limit");
    check(!r.non_ascii || o.allow_utf8, "8-bit only with SMTPUTF8");
  }
  valid_ipv6(in);
  valid_ipv4(in);
  ringmta::base::valid_utf8(in);
  check(domain_equal(in, ringmta::base::to_lower_ascii(in)), "domain_equal ignores ASCII case");
  check(xtext_decode(xtext_encode(in)) == std::string(in), "xtext round trip");
  if (auto d = xtext_decode(in)) check(xtext_decode(xtext_encode(*d)) == *d, "xtext re-encode");
  if (size >= 8) {
    int64_t t;
    std::memcpy(&t, data, 8);
    check(rfc5322_date(t).size() >= 31, "date text");
  }
  return 0;
}
