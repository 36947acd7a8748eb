// tests/unit/auth/auth_dummy_test.cpp — the hash work unknown and locked
// users cost (a dummy hash of the users file's own scheme and cost, checked
// by the real crypt(3)), and the key failures are counted under (IPv4
// address, IPv6 /64).
//
// The check function is wrapped (auth::AuthOptions::verify) only to record which
// hash each check runs against; the wrapper calls the real verify_password.
#include <crypt.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "auth/auth.h"

namespace ringmta::auth {
namespace {

using auth::Outcome;
namespace fs = std::filesystem;

struct UsersFile {
  fs::path path = fs::temp_directory_path() / ("ringmta-auth-dummy-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(counter()++));
  static int& counter() {
    static int n = 0;
    return n;
  }
  explicit UsersFile(const std::string& text) { std::ofstream(path) << text; }
  ~UsersFile() { fs::remove(path); }
};

// A crypt(3) hash of `pw` with `prefix` ("$6$", "$2b$", "$y$") at `cost`.
std::string hash_with(const char* prefix, unsigned long cost, const std::string& pw) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn(prefix, cost, nullptr, 0, setting, sizeof setting)) return "";
  crypt_data data{};
  const char* out = crypt_rn(pw.c_str(), setting, &data, sizeof data);
  return out && out[0] == '$' ? out : "";
}

// The scheme and cost part of a hash: everything before its last '$' for
// $6$/$5$/$y$ (salt included) — compared without the salt below.
std::string settings_of(const std::string& hash) {
  if (hash.rfind("$2", 0) == 0) return hash.substr(0, 7);  // "$2b$05$"
  size_t last = hash.rfind('$');
  size_t salt = hash.rfind('$', last - 1);
  return hash.substr(0, salt + 1);  // "$6$rounds=N$", "$y$j9T$"
}

struct Recorder {
  std::vector<std::string> hashes;
  auth::AuthOptions options(const UsersFile& f) {
    auth::AuthOptions o;
    o.users_file = f.path.string();
    o.max_failures = 100;
    o.failure_delay = std::chrono::milliseconds(0);
    o.threads = 1;
    o.verify = [this](std::string_view pw, const std::string& hash) {
      hashes.push_back(hash);
      return verify_password(pw, hash);  // the real check
    };
    return o;
  }
};

// Every kind of failure runs exactly one real hash computation of the same
// scheme and cost as the file's real hashes.
void expect_same_work(const char* prefix, unsigned long cost) {
  SCOPED_TRACE(prefix);
  const std::string real = hash_with(prefix, cost, "right");
  ASSERT_FALSE(real.empty());
  UsersFile f("# comment first\nlocked:!" + real + "\nstar:*\nalice:" + real + "\nbob:" +
              hash_with("$y$", 0, "other") + "\n");
  Recorder rec;
  auth::AuthService a(rec.options(f));
  ASSERT_EQ(a.load(), "");

  EXPECT_EQ(a.check_now("192.0.2.1", "alice", "right").result, Outcome::Ok);
  EXPECT_EQ(a.check_now("192.0.2.1", "alice", "wrong").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("192.0.2.1", "nobody", "right").result, Outcome::Invalid);
  // The locked user's hash holds the right password behind "!": still refused.
  EXPECT_EQ(a.check_now("192.0.2.1", "locked", "right").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("192.0.2.1", "star", "right").result, Outcome::Invalid);

  ASSERT_EQ(rec.hashes.size(), 5u);  // one verification per check, whatever the user
  EXPECT_EQ(rec.hashes[0], real);
  EXPECT_EQ(rec.hashes[1], real);
  const std::string& dummy = rec.hashes[2];
  EXPECT_EQ(rec.hashes[3], dummy);
  EXPECT_EQ(rec.hashes[4], dummy);
  EXPECT_NE(dummy, real);
  EXPECT_EQ(settings_of(dummy), settings_of(real));  // same scheme and cost
  EXPECT_EQ(dummy.size(), real.size());
  // And crypt(3) really computes with it: a hash of the same shape comes out.
  crypt_data data{};
  const char* out = crypt_rn("guess", dummy.c_str(), &data, sizeof data);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(settings_of(out), settings_of(real));
  EXPECT_EQ(std::string(out).size(), real.size());
}

TEST(AuthDummyHash, SameSchemeAndCostAsTheFirstRealEntry) {
  expect_same_work("$6$", 20000);  // SHA-512-crypt, non-default rounds
  expect_same_work("$5$", 7000);   // SHA-256-crypt
  expect_same_work("$2b$", 6);     // bcrypt cost 6
  expect_same_work("$y$", 7);      // yescrypt, a non-default cost
}

TEST(AuthDummyHash, FileWithoutRealHashStillCostsAHash) {
  UsersFile f("locked:!\nstar:*\n");
  Recorder rec;
  auth::AuthService a(rec.options(f));
  ASSERT_EQ(a.load(), "");
  EXPECT_EQ(a.check_now("192.0.2.1", "locked", "x").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("192.0.2.1", "nobody", "x").result, Outcome::Invalid);
  ASSERT_EQ(rec.hashes.size(), 2u);
  EXPECT_EQ(rec.hashes[0].rfind("$y$", 0), 0u);  // a default yescrypt hash, never ""
  EXPECT_EQ(rec.hashes[1], rec.hashes[0]);
}

TEST(AuthDummyHash, FollowsAChangedUsersFile) {
  UsersFile f("a:" + hash_with("$6$", 5000, "pw") + "\n");
  Recorder rec;
  auth::AuthService a(rec.options(f));
  ASSERT_EQ(a.load(), "");
  EXPECT_EQ(a.check_now("192.0.2.1", "nobody", "x").result, Outcome::Invalid);
  // Rewritten with bcrypt (a new inode): the dummy follows.
  {
    fs::path tmp = f.path.string() + ".tmp";
    std::ofstream(tmp) << "a:" << hash_with("$2b$", 5, "pw") << "\n";
    fs::rename(tmp, f.path);
  }
  EXPECT_EQ(a.check_now("192.0.2.1", "nobody", "x").result, Outcome::Invalid);
  ASSERT_EQ(rec.hashes.size(), 2u);
  EXPECT_EQ(rec.hashes[0].rfind("$6$", 0), 0u);
  EXPECT_EQ(rec.hashes[1].rfind("$2b$05$", 0), 0u);
}

TEST(AuthThrottleKey, AddressesInOneSlash64ShareTheirCount) {
  UsersFile f("alice:" + hash_with("$6$", 1000, "pw") + "\n");
  Recorder rec;
  auth::AuthOptions o = rec.options(f);
  o.max_failures = 3;
  auth::AuthService a(o);
  ASSERT_EQ(a.load(), "");
  // Three different users (so the per-user count stays at 1) from three
  // addresses of one /64: the third failure reaches the limit.
  EXPECT_EQ(a.check_now("2001:db8:0:1::a", "u1", "x").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("2001:db8:0:1::b", "u2", "x").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("2001:db8:0:1:ffff::c", "u3", "x").result, Outcome::TooManyFailures);
  // The whole /64 is now refused without a hash check, even alice's password...
  const size_t before = rec.hashes.size();
  EXPECT_EQ(a.check_now("2001:db8:0:1::d", "alice", "pw").result, Outcome::TooManyFailures);
  EXPECT_EQ(rec.hashes.size(), before);
  // ...while the neighbouring /64 and IPv4 clients are not affected.
  EXPECT_EQ(a.check_now("2001:db8:0:2::a", "alice", "pw").result, Outcome::Ok);
  EXPECT_EQ(a.check_now("192.0.2.1", "u4", "x").result, Outcome::Invalid);
}

TEST(AuthThrottleKey, Ipv4AddressesCountAlone) {
  UsersFile f("alice:" + hash_with("$6$", 1000, "pw") + "\n");
  Recorder rec;
  auth::AuthOptions o = rec.options(f);
  o.max_failures = 2;
  auth::AuthService a(o);
  ASSERT_EQ(a.load(), "");
  EXPECT_EQ(a.check_now("192.0.2.1", "u1", "x").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("192.0.2.2", "u2", "x").result, Outcome::Invalid);  // a different address
  EXPECT_EQ(a.check_now("192.0.2.1", "u3", "x").result, Outcome::TooManyFailures);
}

}  // namespace
}  // namespace ringmta::auth
