// tests/unit/auth/auth_users_test.cpp — users file parsing and editing, and
// crypt(3) hashing/verification through libcrypt.
#include <gtest/gtest.h>

#include "auth/auth_users.h"
#include "limits/conn_limits.h"

namespace ringmta::auth {
namespace {

TEST(UsersFile, ParsesFormsAndReportsBadLines) {
  const std::string text =
      "# comment\n"
      "\n"
      "alice:$y$j9T$abc$def\n"
      "bob@example.org:$6$salt$hash\n"
      "carol:{SHA512-CRYPT}$6$s$h:1000:1000::/home/carol::\n"
      "dave:$y$x$y:dave@example.org, @dave.example\n"
      "erin:plain\n"
      "frank\n"
      "gina:{PLAIN}secret\n"
      "alice:$y$again\n"
      "bad name:$y$x\n"
      "hank:$y$x:not-an-address\n";
  auth::UsersDb db = parse_users(text, "users");
  ASSERT_EQ(db.users.size(), 4u);
  EXPECT_EQ(db.users.at("alice").hash, "$y$j9T$abc$def");
  EXPECT_TRUE(db.users.at("alice").senders.empty());
  EXPECT_EQ(db.users.at("bob@example.org").senders, std::vector<std::string>{"bob@example.org"});
  EXPECT_EQ(db.users.at("carol").hash, "$6$s$h");
  EXPECT_TRUE(db.users.at("carol").senders.empty());  // Dovecot's uid field is not a sender list
  EXPECT_EQ(db.users.at("dave").senders, (std::vector<std::string>{"dave@example.org", "@dave.example"}));
  ASSERT_EQ(db.problems.size(), 6u);
  EXPECT_EQ(db.problems[0].rfind("users:7: ", 0), 0u) << db.problems[0];
  EXPECT_NE(db.problems[0].find("not plain text"), std::string::npos);
  EXPECT_NE(db.problems[1].find("users:8: expected NAME:HASH"), std::string::npos);
  EXPECT_NE(db.problems[2].find("unsupported password scheme"), std::string::npos);
  EXPECT_NE(db.problems[3].find("appears again"), std::string::npos);
  EXPECT_NE(db.problems[4].find("space or control"), std::string::npos);
  EXPECT_NE(db.problems[5].find("not an address"), std::string::npos);
}

TEST(UsersFile, EditKeepsOtherLines) {
  const std::string text = "# users\nalice:$y$old:alice@x.org\nbob:$y$b\n";
  EXPECT_TRUE(has_user(text, "alice"));
  EXPECT_FALSE(has_user(text, "ali"));
  EXPECT_EQ(set_user_line(text, "alice", "$y$new"), "# users\nalice:$y$new:alice@x.org\nbob:$y$b\n");
  EXPECT_EQ(set_user_line(text, "carol", "$y$c"), text + "carol:$y$c\n");
  bool found = false;
  EXPECT_EQ(remove_user_line(text, "alice", &found), "# users\nbob:$y$b\n");
  EXPECT_TRUE(found);
  remove_user_line(text, "zed", &found);
  EXPECT_FALSE(found);
}

TEST(UsersFile, QuotaField) {
  const std::string text =
      "alice@example.org:$y$a:quota=500M\n"
      "bob:$y$b:bob@example.org:quota=2G\n"
      "carol:$y$c:1000:1000::/home/carol::quota=0\n"
      "dave:$y$d\n"
      "erin:$y$e:quota=lots\n"
      "fred:$y$f:quota=1KiB\n";
  auth::UsersDb db = parse_users(text, "users");
  ASSERT_EQ(db.users.size(), 5u);
  EXPECT_EQ(db.users.at("alice@example.org").quota, std::optional<uint64_t>(500ull << 20));
  // "quota=" in the SENDERS place is not a sender; the name is its own list.
  EXPECT_EQ(db.users.at("alice@example.org").senders, std::vector<std::string>{"alice@example.org"});
  EXPECT_EQ(db.users.at("bob").quota, std::optional<uint64_t>(2ull << 30));
  EXPECT_EQ(db.users.at("bob").senders, std::vector<std::string>{"bob@example.org"});
  EXPECT_EQ(db.users.at("carol").quota, std::optional<uint64_t>(0));
  EXPECT_FALSE(db.users.at("dave").quota.has_value());
  EXPECT_EQ(db.users.at("fred").quota, std::optional<uint64_t>(1024));
  ASSERT_EQ(db.problems.size(), 1u);
  EXPECT_NE(db.problems[0].find("users:5: user 'erin': bad quota 'lots'"), std::string::npos) << db.problems[0];
  // Changing the password keeps the quota.
  EXPECT_EQ(set_user_line(text, "bob", "$y$new").substr(text.find("bob"), 36), "bob:$y$new:bob@example.org:quota=2G\n");
  EXPECT_FALSE(parse_quota("").has_value());
  EXPECT_FALSE(parse_quota("5X").has_value());
  EXPECT_FALSE(parse_quota("99999999999999999999").has_value());
  EXPECT_FALSE(parse_quota("17000000T").has_value());
  EXPECT_EQ(parse_quota("1T"), std::optional<uint64_t>(1ull << 40));
}

TEST(Crypt, YescryptAndSha512) {
  auto h = hash_password("correct horse");
  ASSERT_TRUE(h) << h.error();
  EXPECT_EQ(h->rfind("$y$", 0), 0u);
  EXPECT_TRUE(verify_password("correct horse", *h));
  EXPECT_FALSE(verify_password("correct horsE", *h));
  EXPECT_FALSE(verify_password("", *h));
  EXPECT_NE(*hash_password("correct horse"), *h);  // random salt
  // SHA-512-crypt: the test vector of Drepper's specification ("Hello world!").
  const std::string sha512 =
      "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1";
  EXPECT_TRUE(verify_password("Hello world!", sha512));
  EXPECT_FALSE(verify_password("Hello world", sha512));
  EXPECT_FALSE(verify_password("x", "!"));
  EXPECT_FALSE(verify_password("x", "*"));
  EXPECT_FALSE(verify_password("x", ""));
  EXPECT_FALSE(verify_password(std::string("Hello world!\0x", 14), sha512));
  EXPECT_FALSE(hash_password(""));
}

TEST(ConnectionLimiter, TotalAndPerAddress) {
  limits::ConnectionLimiter l(3, 2);
  EXPECT_EQ(l.acquire("a"), limits::ConnectionLimiter::Verdict::Ok);
  EXPECT_EQ(l.acquire("a"), limits::ConnectionLimiter::Verdict::Ok);
  EXPECT_EQ(l.acquire("a"), limits::ConnectionLimiter::Verdict::TooManyFromAddress);
  EXPECT_EQ(l.acquire("b"), limits::ConnectionLimiter::Verdict::Ok);
  EXPECT_EQ(l.acquire("c"), limits::ConnectionLimiter::Verdict::TooMany);
  EXPECT_EQ(l.total(), 3u);
  l.release("a");
  EXPECT_EQ(l.acquire("c"), limits::ConnectionLimiter::Verdict::Ok);
  limits::ConnectionLimiter unlimited(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(unlimited.acquire("x"), limits::ConnectionLimiter::Verdict::Ok);
}

}  // namespace
}  // namespace ringmta::auth
