// tests/fuzz/credentials_fuzz.cpp — libFuzzer target for the credentials
// file parser (relay/credentials.h). The input is a credentials file.
// Invariants on every input: no crash or sanitizer report; every entry has a
// non-empty user without blanks and a non-empty password, a lower-case key
// of one of the three forms, and a line number within the input; every
// problem names a line within the input; each entry is found again by the
// lookup its key form promises. The bytes also drive the rate pattern
// matcher (relay/destination_rate.h) against the entry keys: matching never
// crashes, and a name always matches itself as a plain pattern.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "relay/credentials.h"
#include "relay/destination_rate.h"

using namespace ringmta::relay;

static void check(bool ok) {
  if (!ok) std::abort();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const CredentialTable t = parse_credentials(in, "fuzz");
  size_t lines = 1;
  for (char c : in) lines += c == '\n';
  for (const auto& [key, c] : t.entries) {
    check(!key.empty() && !c.user.empty() && !c.password.empty());
    check(c.user.find_first_of(" \t") == std::string::npos);
    check(c.line >= 1 && c.line <= lines);
    for (char ch : key) check(!(ch >= 'A' && ch <= 'Z'));
    if (key[0] == '@') {
      check(t.find("unrelated.invalid", 25, key.substr(1)) != nullptr);
    } else if (key[0] == '[') {  // "[host]:port"
      const size_t close = key.find("]:");
      check(close != std::string::npos);
      const unsigned long port = std::strtoul(key.c_str() + close + 2, nullptr, 10);
      check(port >= 1 && port <= 65535);
      check(t.find(key.substr(1, close - 1), static_cast<uint16_t>(port), "") != nullptr);
    } else {
      check(t.find(key, 25, "") != nullptr);
    }
    check(rate_pattern_matches(key, key) || key.ends_with("."));
    (void)rate_pattern_matches("*." + key, in);
  }
  for (const auto& p : t.problems) {
    check(p.rfind("fuzz:", 0) == 0);
    check(std::strtoul(p.c_str() + 5, nullptr, 10) <= lines);
  }
  return 0;
}
