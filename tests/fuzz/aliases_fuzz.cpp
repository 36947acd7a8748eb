// tests/fuzz/aliases_fuzz.cpp — libFuzzer target for the aliases parser and
// resolve() (mail/aliases). The input is an aliases file. Invariants on every
// input: no crash or sanitizer report; every entry has targets, in lower
// case, without duplicates; resolving each alias name (with the even-numbered
// targets as the users) ends within the bounds: users are users, outside
// addresses are outside the local domains, both free of duplicates, and
// their total is at most kMaxExpansion.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "mail/aliases.h"

using namespace ringmta::mail;

static void check(bool ok) {
  if (!ok) std::abort();
}

static bool unique(const std::vector<std::string>& v) {
  std::vector<std::string> s = v;
  std::sort(s.begin(), s.end());
  return std::adjacent_find(s.begin(), s.end()) == s.end();
}

static bool lower(const std::string& s) {
  return std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const LocalDomains local{{"example.org", "other.test"}, size % 2 ? "+" : "-"};
  const AliasTable t = parse_aliases(in, "fuzz", local.domains[0]);
  std::set<std::string> users;
  size_t n = 0;
  for (const auto& [name, targets] : t.entries) {
    check(!targets.empty() && unique(targets) && lower(name));
    for (const auto& target : targets) {
      check(lower(target) && target.find('@') != std::string::npos);
      if (n++ % 2 == 0) users.insert(target);
    }
  }
  size_t resolved = 0;
  for (const auto& [name, targets] : t.entries) {
    if (++resolved > 50) break;  // bounded work per input
    for (const std::string& a : {name, name + "+x", std::string("X") + name}) {
      const Resolution r = resolve(a, t, users, local);
      check(unique(r.users) && unique(r.external));
      check(r.users.size() + r.external.size() <= kMaxExpansion);
      for (const auto& u : r.users) check(users.count(u) == 1);
      for (const auto& e : r.external) {
        const size_t at = e.rfind('@');
        check(at == std::string::npos || !local.contains(std::string_view(e).substr(at + 1)));
      }
      if (r.status == Resolution::Status::Unknown) check(r.users.empty() && r.external.empty());
    }
  }
  missing_role_addresses(t, users, local);
  return 0;
}
