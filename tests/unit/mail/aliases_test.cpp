// tests/unit/mail/aliases_test.cpp — the aliases parser and resolve().
//
// Golden: each tests/golden/aliases/NAME.in is an aliases file whose first
// comment lines give the context ("# context: domains D...; delimiter X;
// users U, U") and the addresses to resolve ("# queries: A B"). The parsed
// table, its problems and each query's resolution, rendered as text, must
// equal NAME.ref. RINGMTA_GOLDEN_UPDATE=1 rewrites the .ref files (review!).
#include "mail/aliases.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringmta::mail {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == ' ' || c == ',' || c == '\r' || c == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

const char* status_name(Resolution::Status s) {
  switch (s) {
    case Resolution::Status::NotLocal: return "not-local";
    case Resolution::Status::Unknown: return "unknown";
    case Resolution::Status::Ok: return "ok";
    case Resolution::Status::TooDeep: return "too-deep";
  }
  return "?";
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

std::string run_case(const std::string& text, const std::string& name) {
  LocalDomains local;
  std::set<std::string> users;
  std::vector<std::string> queries;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("# context:", 0) == 0) {
      std::string_view rest = std::string_view(line).substr(10);
      for (size_t start = 0; start <= rest.size();) {
        size_t semi = rest.find(';', start);
        std::string_view part = rest.substr(start, semi == std::string_view::npos ? rest.npos : semi - start);
        start = semi == std::string_view::npos ? rest.size() + 1 : semi + 1;
        auto w = words(part);
        if (w.empty()) continue;
        if (w[0] == "domains") local.domains.assign(w.begin() + 1, w.end());
        if (w[0] == "delimiter") local.delimiter = w.size() > 1 ? w[1] : "";
        if (w[0] == "users")
          for (size_t i = 1; i < w.size(); ++i) users.insert(canonical_user(w[i], local.domains.at(0)));
      }
    } else if (line.rfind("# queries:", 0) == 0) {
      for (auto& q : words(std::string_view(line).substr(10))) queries.push_back(q);
    }
  }
  const AliasTable table = parse_aliases(text, name, local.domains.empty() ? "" : local.domains[0]);
  std::ostringstream o;
  o << "aliases:\n";
  for (const auto& [alias, targets] : table.entries) o << "  " << alias << " -> " << join(targets) << "\n";
  o << "problems:\n";
  for (const auto& p : table.problems) o << "  " << p << "\n";
  o << "resolve:\n";
  for (const auto& q : queries) {
    Resolution r = resolve(q, table, users, local);
    o << "  " << q << " => " << status_name(r.status);
    if (!r.users.empty()) o << " users[" << join(r.users) << "]";
    if (!r.external.empty()) o << " external[" << join(r.external) << "]";
    o << "\n";
  }
  o << "missing roles: " << join(missing_role_addresses(table, users, local)) << "\n";
  return o.str();
}

TEST(AliasesGolden, AllCases) {
  const fs::path dir = fs::path(RINGMTA_GOLDEN_DIR) / "aliases";
  const bool update = std::getenv("RINGMTA_GOLDEN_UPDATE") != nullptr;
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".in") continue;
    ++cases;
    const std::string got = run_case(read_file(entry.path()), entry.path().filename().string());
    fs::path ref = entry.path();
    ref.replace_extension(".ref");
    if (update)
      std::ofstream(ref, std::ios::binary) << got;
    else
      EXPECT_EQ(got, read_file(ref)) << entry.path();
  }
  EXPECT_GE(cases, 6);
}

LocalDomains example() { return LocalDomains{{"example.org", "other.test"}, "+"}; }

TEST(Aliases, CanonicalUser) {
  EXPECT_EQ(canonical_user("Alice", "example.org"), "alice@example.org");
  EXPECT_EQ(canonical_user("Bob@Other.TEST", "example.org"), "bob@other.test");
  EXPECT_EQ(canonical_user("bob@", "example.org"), "");
  EXPECT_EQ(canonical_user("@x", "example.org"), "");
  EXPECT_EQ(canonical_user("", "example.org"), "");
  EXPECT_EQ(canonical_user("bare", ""), "");
}

TEST(Aliases, UsersWithoutAliases) {
  AliasTable none;
  std::set<std::string> users{"alice@example.org"};
  auto r = resolve("Alice+Tag@Example.ORG", none, users, example());
  EXPECT_EQ(r.status, Resolution::Status::Ok);
  EXPECT_EQ(r.users, std::vector<std::string>{"alice@example.org"});
  EXPECT_EQ(resolve("bob@example.org", none, users, example()).status, Resolution::Status::Unknown);
  EXPECT_EQ(resolve("alice@elsewhere.example", none, users, example()).status, Resolution::Status::NotLocal);
  EXPECT_EQ(resolve("no-at-sign", none, users, example()).status, Resolution::Status::NotLocal);
  LocalDomains off = example();
  off.delimiter.clear();
  EXPECT_EQ(resolve("alice+tag@example.org", none, users, off).status, Resolution::Status::Unknown);
}

TEST(Aliases, TooDeepAndTooWide) {
  // eleven levels: l0 -> l1 -> ... -> l11 -> a user
  std::string text;
  for (int i = 0; i < 11; ++i) text += "l" + std::to_string(i) + ": l" + std::to_string(i + 1) + "\n";
  text += "l11: alice\n";
  std::set<std::string> users{"alice@example.org"};
  AliasTable t = parse_aliases(text, "t", "example.org");
  EXPECT_TRUE(t.problems.empty());
  EXPECT_EQ(resolve("l0@example.org", t, users, example()).status, Resolution::Status::TooDeep);
  EXPECT_EQ(resolve("l2@example.org", t, users, example()).status, Resolution::Status::Ok);
  // 2000 outside targets: more than kMaxExpansion.
  std::string wide = "list:";
  for (int i = 0; i < 2000; ++i) wide += " x" + std::to_string(i) + "@out.example,";
  AliasTable w = parse_aliases(wide, "w", "example.org");
  EXPECT_EQ(resolve("list@example.org", w, users, example()).status, Resolution::Status::TooDeep);
}

TEST(Aliases, DiamondsCollectOnce) {
  // Exponential without "expanded once": each level doubles the paths.
  std::string text;
  for (int i = 0; i < 9; ++i)
    text += "d" + std::to_string(i) + ": d" + std::to_string(i + 1) + ", e" + std::to_string(i + 1) + "\n" + "e" +
            std::to_string(i + 1) + ": d" + std::to_string(i + 1) + "\n";
  text += "d9: alice, out@x.example\n";
  std::set<std::string> users{"alice@example.org"};
  AliasTable t = parse_aliases(text, "t", "example.org");
  auto r = resolve("d0@example.org", t, users, example());
  EXPECT_EQ(r.status, Resolution::Status::Ok);
  EXPECT_EQ(r.users, std::vector<std::string>{"alice@example.org"});
  EXPECT_EQ(r.external, std::vector<std::string>{"out@x.example"});
}

}  // namespace
}  // namespace ringmta::mail
