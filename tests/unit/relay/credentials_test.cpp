// tests/unit/relay/credentials_test.cpp — the delivery.credentials_file
// parser (relay/credentials.h) and its lookups, and the file checks of
// relay/credential_store.h (mode 0600 or stricter, re-read on change).
//
// Golden: each tests/golden/credentials/NAME.in is a credentials file; the
// parsed entries (passwords shown as their length only, so no .ref holds one
// in clear where it is not needed) and the problems must equal NAME.ref.
// RINGMTA_GOLDEN_UPDATE=1 rewrites the .ref files (review!).
#include "relay/credentials.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "relay/credential_store.h"

namespace ringmta::relay {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string render(const CredentialTable& t) {
  std::string out;
  for (const auto& [key, c] : t.entries)
    out += key + " -> user=" + c.user + " password=" + c.password + " (line " + std::to_string(c.line) + ")\n";
  for (const auto& p : t.problems) out += "problem: " + p + "\n";
  return out;
}

TEST(CredentialsGolden, AllCases) {
  const fs::path dir = fs::path(RINGMTA_GOLDEN_DIR) / "credentials";
  const bool update = std::getenv("RINGMTA_GOLDEN_UPDATE") != nullptr;
  size_t cases = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".in") continue;
    ++cases;
    const std::string name = e.path().stem().string();
    const std::string got = render(parse_credentials(read_file(e.path()), name + ".in"));
    fs::path ref = e.path();
    ref.replace_extension(".ref");
    if (update) {
      std::ofstream(ref, std::ios::binary) << got;
      continue;
    }
    ASSERT_TRUE(fs::exists(ref)) << ref;
    EXPECT_EQ(got, read_file(ref)) << name;
  }
  EXPECT_GE(cases, 3u);
}

TEST(Credentials, BadLinesNeverShowThePassword) {
  const auto t = parse_credentials("host.example\nhost:25 user:topsecret\n[h]:0 u:topsecret\n", "f");
  ASSERT_EQ(t.problems.size(), 3u);
  EXPECT_EQ(t.problems[0].rfind("f:1: ", 0), 0u);
  EXPECT_EQ(t.problems[1].rfind("f:2: ", 0), 0u);
  EXPECT_EQ(t.problems[2].rfind("f:3: ", 0), 0u);
  for (const auto& p : t.problems) EXPECT_EQ(p.find("topsecret"), std::string::npos) << p;
}

TEST(Credentials, LookupOrder) {
  const auto t = parse_credentials(
      "[smart.example]:587 port:1\n"
      "smart.example any:2\n"
      "@example.org dom:3\n",
      "f");
  ASSERT_TRUE(t.problems.empty());
  ASSERT_NE(t.find("SMART.example", 587, "x.test"), nullptr);
  EXPECT_EQ(t.find("SMART.example", 587, "x.test")->user, "port");
  EXPECT_EQ(t.find("smart.example", 25, "")->user, "any");
  EXPECT_EQ(t.find("mx1.example.org", 25, "Example.ORG")->user, "dom");
  EXPECT_EQ(t.find("mx1.example.org", 25, "example.net"), nullptr);
  EXPECT_EQ(t.find("other.example", 587, ""), nullptr);
  const auto empty = parse_credentials("", "f");
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.find("smart.example", 25, "example.org"), nullptr);
}

TEST(Credentials, LongLineAndEdgeInput) {
  std::string big = "h.example u:" + std::string(kMaxCredentialLine, 'x') + "\n";
  auto t = parse_credentials(big, "f");
  EXPECT_TRUE(t.entries.empty());
  ASSERT_EQ(t.problems.size(), 1u);
  t = parse_credentials("h.example u:p", "f");  // no final newline
  ASSERT_EQ(t.entries.size(), 1u);
  EXPECT_EQ(t.entries.begin()->second.password, "p");
  t = parse_credentials(std::string("\0\n\n", 3), "f");
  EXPECT_TRUE(t.entries.empty());
}

class CredentialFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ringmta_cred_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    path_ = (dir_ / "passwords").string();
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& text, mode_t mode) {
    fs::remove(path_);
    std::ofstream(path_) << text;
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(CredentialFile, ModeIsChecked) {
  for (mode_t bad : {0640, 0604, 0660, 0606, 0620}) {
    write("h.example u:p\n", bad);
    CredentialStore store(path_);
    const std::string e = store.load();
    EXPECT_NE(e.find("lets group or others at the passwords"), std::string::npos) << std::oct << bad << " " << e;
  }
  write("h.example u:p\n", 0600);
  CredentialStore ok(path_);
  EXPECT_EQ(ok.load(), "");
  EXPECT_EQ(ok.current()->entries.size(), 1u);
  write("h.example u:p\n", 0400);
  CredentialStore ro(path_);
  EXPECT_EQ(ro.load(), "");
  CredentialStore missing((dir_ / "none").string());
  EXPECT_NE(missing.load().find("No such file"), std::string::npos);
  fs::create_symlink(path_, dir_ / "link");
  CredentialStore link((dir_ / "link").string());
  EXPECT_NE(link.load(), "");  // O_NOFOLLOW: a symlink is not read
}

// The watcher re-reads a changed file; a file made readable by others is
// refused and the entries read before stay. Waits are bounded polls.
TEST_F(CredentialFile, ReReadOnChange) {
  write("a.example u1:p1\n", 0600);
  CredentialStore store(path_);
  ASSERT_EQ(store.load(), "");
  store.start();
  auto wait_for = [&](auto pred) {
    for (int i = 0; i < 100 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return pred();
  };
  write("a.example u1:p1\nb.example u2:p2\n", 0600);
  EXPECT_TRUE(wait_for([&] { return store.current()->entries.size() == 2; }));
  write("c.example u3:p3\n", 0644);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));  // > 2 watcher rounds
  EXPECT_EQ(store.current()->entries.size(), 2u);  // refused: the old table stays
  ASSERT_EQ(::chmod(path_.c_str(), 0600), 0);
  EXPECT_TRUE(wait_for([&] { return store.current()->entries.size() == 1; }));
  EXPECT_NE(store.current()->find("c.example", 25, ""), nullptr);
}

}  // namespace
}  // namespace ringmta::relay
