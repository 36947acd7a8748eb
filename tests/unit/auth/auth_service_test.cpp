// tests/unit/auth/auth_service_test.cpp — auth::AuthService verdicts: good and bad
// passwords, unknown users, throttling per address and per user (delays,
// TooManyFailures, reset on success), reload of a changed users file, and the
// asynchronous check() posting its verdict to a running reactor.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/reactor.h"
#include "auth/auth.h"

namespace ringmta::auth {
namespace {

using auth::Outcome;
namespace fs = std::filesystem;

struct TempUsers {
  fs::path path = fs::temp_directory_path() / ("ringmta-auth-test-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(counter()++));
  static int& counter() {
    static int n = 0;
    return n;
  }
  void write(const std::string& text) {
    fs::path tmp = path.string() + ".tmp";
    std::ofstream(tmp) << text;
    fs::rename(tmp, path);  // a new inode, as ringmtactl does
  }
  ~TempUsers() { fs::remove(path); }
};

std::string line(const std::string& user, const std::string& pw, const std::string& rest = "") {
  return user + ":" + *hash_password(pw) + rest + "\n";
}

auth::AuthOptions options(const TempUsers& f, unsigned max_failures = 3) {
  auth::AuthOptions o;
  o.users_file = f.path.string();
  o.max_failures = max_failures;
  o.failure_delay = std::chrono::milliseconds(100);
  o.threads = 1;
  return o;
}

TEST(AuthService, VerdictsAndThrottling) {
  TempUsers f;
  f.write(line("alice", "pw", ":alice@x.org"));
  auth::AuthService a(options(f));
  ASSERT_EQ(a.load(), "");
  auth::AuthVerdict v = a.check_now("192.0.2.1", "alice", "pw");
  EXPECT_EQ(v.result, Outcome::Ok);
  EXPECT_EQ(v.senders, std::vector<std::string>{"alice@x.org"});
  v = a.check_now("192.0.2.1", "alice", "bad");
  EXPECT_EQ(v.result, Outcome::Invalid);
  EXPECT_EQ(v.delay, std::chrono::milliseconds(100));
  v = a.check_now("192.0.2.1", "nobody", "bad");  // per address: 2nd failure
  EXPECT_EQ(v.result, Outcome::Invalid);
  EXPECT_EQ(v.delay, std::chrono::milliseconds(200));
  v = a.check_now("192.0.2.1", "alice", "bad");
  EXPECT_EQ(v.result, Outcome::TooManyFailures);
  // The address is blocked, even with the right password...
  EXPECT_EQ(a.check_now("192.0.2.1", "alice", "pw").result, Outcome::TooManyFailures);
  // ...but the user still logs in from elsewhere, which resets its count.
  EXPECT_EQ(a.check_now("192.0.2.2", "alice", "pw").result, Outcome::Ok);
  EXPECT_EQ(a.check_now("192.0.2.2", "alice", "bad").delay, std::chrono::milliseconds(100));
}

TEST(AuthService, PerUserCountsAcrossAddresses) {
  TempUsers f;
  f.write(line("bob", "pw"));
  auth::AuthService a(options(f));
  ASSERT_EQ(a.load(), "");
  EXPECT_EQ(a.check_now("192.0.2.1", "bob", "x").delay, std::chrono::milliseconds(100));
  EXPECT_EQ(a.check_now("192.0.2.2", "bob", "x").delay, std::chrono::milliseconds(200));
  EXPECT_EQ(a.check_now("192.0.2.3", "bob", "x").result, Outcome::TooManyFailures);
  EXPECT_EQ(a.check_now("192.0.2.4", "bob", "pw").result, Outcome::Ok);
}

TEST(AuthService, ReloadsChangedFileAndKeepsOldOnError) {
  TempUsers f;
  f.write(line("carol", "one"));
  auth::AuthService a(options(f, 100));
  ASSERT_EQ(a.load(), "");
  EXPECT_EQ(a.check_now("192.0.2.1", "carol", "one").result, Outcome::Ok);
  f.write(line("carol", "two") + line("dave", "three"));
  EXPECT_EQ(a.check_now("192.0.2.1", "carol", "one").result, Outcome::Invalid);
  EXPECT_EQ(a.check_now("192.0.2.1", "carol", "two").result, Outcome::Ok);
  EXPECT_EQ(a.check_now("192.0.2.1", "dave", "three").result, Outcome::Ok);
  fs::remove(f.path);  // gone: the users read before stay
  EXPECT_EQ(a.check_now("192.0.2.1", "dave", "three").result, Outcome::Ok);
}

TEST(AuthService, MissingFileAtLoad) {
  TempUsers f;
  auth::AuthService a(options(f));
  EXPECT_NE(a.load().find("No such file"), std::string::npos);
  EXPECT_EQ(a.check_now("192.0.2.1", "x", "y").result, Outcome::TempFail);
}

TEST(AuthService, AsyncCheckPostsToTheReactor) {
  TempUsers f;
  f.write(line("erin", "pw"));
  auth::AuthService a(options(f));
  ASSERT_EQ(a.load(), "");
  engine::Reactor r(0);
  std::thread::id loop_thread;
  std::atomic<int> answers{0};
  std::vector<Outcome> got;
  std::thread loop([&] {
    loop_thread = std::this_thread::get_id();
    r.add_timer(std::chrono::seconds(20), [&] { r.stop(); });  // bound
    a.check(r, "192.0.2.9", "erin", "pw", [&](auth::AuthVerdict v) {
      EXPECT_EQ(std::this_thread::get_id(), loop_thread);
      got.push_back(v.result);
      if (++answers == 2) r.stop();
    });
    a.check(r, "192.0.2.9", "erin", "no", [&](auth::AuthVerdict v) {
      got.push_back(v.result);
      if (++answers == 2) r.stop();
    });
    r.run();
  });
  loop.join();
  ASSERT_EQ(answers.load(), 2);
  EXPECT_EQ(got, (std::vector<Outcome>{Outcome::Ok, Outcome::Invalid}));  // one worker: in order
}

}  // namespace
}  // namespace ringmta::auth
