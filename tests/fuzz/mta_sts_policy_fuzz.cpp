// tests/fuzz/mta_sts_policy_fuzz.cpp — see mta_sts_policy.cmake. Checks the
// parser's promises beyond "no crash": a parsed policy is within the limits,
// and its patterns match what they say.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/mta_sts_policy.h"

using namespace ringmta::relay::mta_sts;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string why;
  if (auto p = parse_policy(in, &why)) {
    CHECK(p->max_age <= kMaxAge);
    CHECK(p->mode == Mode::None || !p->mx.empty());
    for (const auto& mx : p->mx) {
      CHECK(!mx.empty());
      // A plain pattern matches itself; a wildcard matches one label in front.
      if (mx[0] == '*') CHECK(mx_matches(mx, "x" + mx.substr(1)));
      else CHECK(mx_matches(mx, mx));
      CHECK(policy_allows(*p, mx[0] == '*' ? "x" + mx.substr(1) : mx));
    }
  } else {
    CHECK(!why.empty());
  }
  if (auto id = parse_txt(in, &why)) CHECK(!id->empty() && id->size() <= 32);
  // The first line as a pattern, the rest as a host: never crashes, and a
  // match without a wildcard means equal length.
  const size_t nl = in.find('\n');
  if (nl != std::string_view::npos) {
    const std::string_view pat = in.substr(0, nl), host = in.substr(nl + 1);
    if (mx_matches(pat, host) && (pat.empty() || pat[0] != '*'))
      CHECK(pat.size() == host.size() || pat.size() + 1 == host.size());
  }
  return 0;
}
