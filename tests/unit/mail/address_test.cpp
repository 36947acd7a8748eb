// tests/unit/mail/address_test.cpp — RFC 5321 path/mailbox/domain syntax.
#include <gtest/gtest.h>

#include "base/text.h"
#include "mail/address.h"

using namespace ringmta::mail;

namespace {

PathResult P(std::string_view s, bool null = false, bool utf8 = false, bool bare = true) {
  PathOptions o;
  o.allow_null = null;
  o.allow_utf8 = utf8;
  o.allow_bare = bare;
  return parse_path(s, o);
}

TEST(Address, SimplePaths) {
  auto r = P("<joe@example.com>");
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_EQ(r.address, "joe@example.com");
  EXPECT_EQ(r.consumed, 17u);
  r = P("<joe@example.com> SIZE=10");
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_EQ(r.consumed, 17u);
  EXPECT_EQ(P("<joe@example.com>x").status, AddressStatus::Syntax);
  EXPECT_EQ(P("<joe@example.com").status, AddressStatus::Syntax);
  EXPECT_EQ(P("").status, AddressStatus::Syntax);
  EXPECT_EQ(P("<>").status, AddressStatus::Syntax);
  r = P("<>", true);
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_TRUE(r.is_null);
  EXPECT_EQ(r.address, "");
  EXPECT_EQ(P("<> X", true).consumed, 2u);
}

TEST(Address, BarePathsOnlyWhenAllowed) {
  EXPECT_EQ(P("joe@example.com").status, AddressStatus::Ok);
  EXPECT_EQ(P("joe@example.com", false, false, false).status, AddressStatus::Syntax);
  auto r = P("\"a b\"@example.com SIZE=1");
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_EQ(r.address, "\"a b\"@example.com");
}

TEST(Address, LocalParts) {
  for (auto ok : {"<a.b.c@x.org>", "<a+b@x.org>", "<!#$%&'*+-/=?^_`{|}~@x.org>", "<\"a b\"@x.org>",
                  "<\"a\\\"b\"@x.org>", "<\"\"@x.org>", "<\"a@b\"@x.org>"})
    EXPECT_EQ(P(ok).status, AddressStatus::Ok) << ok;
  for (auto bad : {"<.a@x.org>", "<a.@x.org>", "<a..b@x.org>", "<a b@x.org>", "<a(b)@x.org>",
                   "<\"a@x.org>", "<\"a\"b@x.org>", "<@x.org>", "<a@>", "<a>", "<a@b@c.org>",
                   "<\"a\tb\"@x.org>"})
    EXPECT_EQ(P(bad).status, AddressStatus::Syntax) << bad;
}

TEST(Address, Domains) {
  EXPECT_TRUE(valid_domain("example.com", false));
  EXPECT_TRUE(valid_domain("a-b.c1", false));
  EXPECT_TRUE(valid_domain("localhost", false));
  EXPECT_FALSE(valid_domain("-a.com", false));
  EXPECT_FALSE(valid_domain("a-.com", false));
  EXPECT_FALSE(valid_domain("a..com", false));
  EXPECT_FALSE(valid_domain("a.com.", false));
  EXPECT_FALSE(valid_domain("a_b.com", false));
  EXPECT_FALSE(valid_domain("", false));
  EXPECT_TRUE(valid_domain(std::string(63, 'a') + ".com", false));
  EXPECT_FALSE(valid_domain(std::string(64, 'a') + ".com", false));
  EXPECT_TRUE(valid_domain("exämple.org", true));
  EXPECT_FALSE(valid_domain("exämple.org", false));
  EXPECT_FALSE(valid_domain("ex\xff" "ample.org", true));
}

TEST(Address, AddressLiterals) {
  EXPECT_TRUE(valid_domain("[1.2.3.4]", false));
  EXPECT_TRUE(valid_domain("[255.255.255.255]", false));
  EXPECT_FALSE(valid_domain("[256.1.1.1]", false));
  EXPECT_FALSE(valid_domain("[1.2.3]", false));
  EXPECT_FALSE(valid_domain("[1.2.3.4.5]", false));
  EXPECT_TRUE(valid_domain("[IPv6:::1]", false));
  EXPECT_TRUE(valid_domain("[IPv6:2001:db8::1]", false));
  EXPECT_TRUE(valid_domain("[IPv6:1:2:3:4:5:6:7:8]", false));
  EXPECT_TRUE(valid_domain("[IPv6:::ffff:1.2.3.4]", false));
  EXPECT_TRUE(valid_domain("[IPv6:1:2:3:4:5:6:1.2.3.4]", false));
  EXPECT_FALSE(valid_domain("[IPv6:1:2:3:4:5:6:7:8:9]", false));
  EXPECT_FALSE(valid_domain("[IPv6:1::2::3]", false));
  EXPECT_FALSE(valid_domain("[IPv6:12345::]", false));
  EXPECT_FALSE(valid_domain("[IPv6:1:2:3:4:5:6:7::8]", false));
  EXPECT_FALSE(valid_domain("[IPv6:]", false));
  EXPECT_TRUE(valid_domain("[x-tag:stuff]", false));
  EXPECT_FALSE(valid_domain("[x-tag:]", false));
  EXPECT_FALSE(valid_domain("[1.2.3.4", false));
  auto r = P("<joe@[IPv6:2001:db8::1]>");
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_EQ(domain_of(r.address), "[IPv6:2001:db8::1]");
}

TEST(Address, SourceRoutesAreStripped) {
  auto r = P("<@a.example,@b.example:joe@c.example>");
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_EQ(r.address, "joe@c.example");
  EXPECT_EQ(P("<@a.example:joe@c.example>").address, "joe@c.example");
  EXPECT_EQ(P("<@a_b:joe@c.example>").status, AddressStatus::Syntax);
  EXPECT_EQ(P("<@a.example,b.example:joe@c.example>").status, AddressStatus::Syntax);
  EXPECT_EQ(P("<@a.example>").status, AddressStatus::Syntax);
  EXPECT_EQ(P("<@a.example:>").status, AddressStatus::Syntax);
  // The route is reported, so policy can refuse it from strangers.
  EXPECT_TRUE(r.source_route);
  EXPECT_TRUE(P("<@a.example:joe@c.example>").source_route);
  EXPECT_FALSE(P("<joe@c.example>").source_route);
  EXPECT_FALSE(P("joe@c.example").source_route);
}

// Sender-specified routing hidden in the local part (allow_untrusted_routing).
TEST(Address, RoutingLocalParts) {
  EXPECT_TRUE(has_routing_local_part("victim%target.example@local.test"));
  EXPECT_TRUE(has_routing_local_part("target.example!victim@local.test"));
  EXPECT_TRUE(has_routing_local_part("\"v@target.example\"@local.test"));
  EXPECT_TRUE(has_routing_local_part("\"v\\@target.example\"@local.test"));
  EXPECT_TRUE(has_routing_local_part("\"a%b\"@local.test"));
  EXPECT_FALSE(has_routing_local_part("plain.user+tag@local.test"));
  EXPECT_FALSE(has_routing_local_part("\"quoted user\"@local.test"));
  EXPECT_FALSE(has_routing_local_part("user@[IPv6:2001:db8::1]"));
  // What parse_path gives for the addresses of the issue.
  EXPECT_TRUE(has_routing_local_part(P("<\"v@target.example\"@local.test>").address));
  EXPECT_FALSE(has_routing_local_part(P("<@evil.test:v@local.test>").address));
}

TEST(Address, Lengths) {
  std::string l64(64, 'l'), l65(65, 'l');
  EXPECT_EQ(P("<" + l64 + "@x.org>").status, AddressStatus::Ok);
  EXPECT_EQ(P("<" + l65 + "@x.org>").status, AddressStatus::TooLong);
  // 256 octets with the brackets is the limit for the whole path.
  std::string dom;
  while (dom.size() < 240) dom += std::string(9, 'd') + ".";
  dom += "org";
  std::string local(256 - 2 - 1 - dom.size(), 'x');
  ASSERT_LE(local.size(), 64u);
  EXPECT_EQ(P("<" + local + "@" + dom + ">").status, AddressStatus::Ok);
  EXPECT_EQ(P("<" + local + "x@" + dom + ">").status, AddressStatus::TooLong);
}

TEST(Address, Utf8OnlyWhenAllowed) {
  auto r = P("<jöe@exämple.org>");
  EXPECT_EQ(r.status, AddressStatus::NonAscii);
  r = P("<jöe@exämple.org>", false, true);
  EXPECT_EQ(r.status, AddressStatus::Ok);
  EXPECT_TRUE(r.non_ascii);
  EXPECT_EQ(P("<j\xff@x.org>", false, true).status, AddressStatus::Syntax);
  EXPECT_EQ(P("<j\xc3@x.org>", false, true).status, AddressStatus::Syntax);      // truncated
  EXPECT_EQ(P("<j\xc0\xaf@x.org>", false, true).status, AddressStatus::Syntax);  // overlong
  EXPECT_EQ(P("<j\xed\xa0\x80@x.org>", false, true).status, AddressStatus::Syntax);  // surrogate
  EXPECT_FALSE(P("<joe@x.org>", false, true).non_ascii);
}

TEST(Address, Utf8Validator) {
  EXPECT_TRUE(ringmta::base::valid_utf8("plain"));
  EXPECT_TRUE(ringmta::base::valid_utf8("\xf0\x9f\x98\x80"));
  EXPECT_FALSE(ringmta::base::valid_utf8("\xf4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(ringmta::base::valid_utf8("\xe0\x80\x80"));      // overlong
  EXPECT_FALSE(ringmta::base::valid_utf8("\x80"));
}

TEST(Address, Helpers) {
  EXPECT_EQ(domain_of("a@b.c"), "b.c");
  EXPECT_EQ(domain_of("\"x@y\"@b.c"), "b.c");
  EXPECT_EQ(domain_of("postmaster"), "");
  EXPECT_EQ(local_part_of("a@b.c"), "a");
  EXPECT_TRUE(domain_equal("Example.COM", "example.com"));
  EXPECT_FALSE(domain_equal("example.com", "example.co"));
  EXPECT_FALSE(domain_equal("a", "b"));
  EXPECT_EQ(ringmta::base::to_lower_ascii("AbC\xc3\x84"), "abc\xc3\x84");
  EXPECT_EQ(check_mailbox("a@b.c", false), AddressStatus::Ok);
  EXPECT_EQ(check_mailbox("a@b.c>", false), AddressStatus::Syntax);
}

}  // namespace
