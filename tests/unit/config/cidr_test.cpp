// tests/unit/config/cidr_test.cpp — config::Cidr parsing (accepted and refused forms,
// canonical printing) and membership golden cases, including v4-mapped IPv6
// clients against IPv4 prefixes.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "config/cidr.h"

namespace ringmta::config {
namespace {

engine::SocketAddress addr(std::string_view ip) {
  auto a = engine::SocketAddress::from_ip(ip, 25);
  EXPECT_TRUE(a.has_value()) << ip;
  return a.value_or(engine::SocketAddress{});
}

bool in(std::string_view cidr, std::string_view ip) {
  auto c = config::Cidr::parse(cidr);
  EXPECT_TRUE(c.ok()) << cidr;
  return c && c->contains(addr(ip));
}

TEST(Cidr, ParsesAndPrintsCanonically) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"127.0.0.0/8", "127.0.0.0/8"},
      {"::1/128", "::1/128"},
      {"10.1.2.3", "10.1.2.3/32"},
      {"::1", "::1/128"},
      {"0.0.0.0/0", "0.0.0.0/0"},
      {"::/0", "::/0"},
      {"2001:db8::/32", "2001:db8::/32"},
      {"2001:DB8:0:0::/64", "2001:db8::/64"},
      {"192.168.0.0/16", "192.168.0.0/16"},
      {"10.0.0.128/25", "10.0.0.128/25"},
      {"::ffff:10.0.0.0/104", "10.0.0.0/8"},  // v4-mapped form becomes the IPv4 prefix
      {"::ffff:192.0.2.1", "192.0.2.1/32"},
  };
  for (const auto& [text, canonical] : cases) {
    auto c = config::Cidr::parse(text);
    ASSERT_TRUE(c.ok()) << text;
    EXPECT_EQ(c->to_string(), canonical) << text;
  }
  EXPECT_FALSE(config::Cidr::parse("10.1.2.3")->is_v6());
  EXPECT_EQ(config::Cidr::parse("10.1.2.3")->prefix_length(), 32u);
  EXPECT_TRUE(config::Cidr::parse("::1")->is_v6());
  EXPECT_EQ(config::Cidr::parse("::1")->prefix_length(), 128u);
}

TEST(Cidr, RejectsBadText) {
  const std::string_view bad[] = {
      "", "/8", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/+8",
      "10.0.0.0/ 8", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/08", "10.0.0.0/8/8",
      "10.0.0", "256.0.0.0/8", "10.0.0.0.0", "example.com", "localhost", "fe80::1%eth0",
      "[::1]/128", "::1/1280", "1.2.3.4/32x", "10.0.0.0/0x8",
  };
  for (auto text : bad) EXPECT_FALSE(config::Cidr::parse(text).ok()) << text;
}

TEST(Cidr, RejectsHostBitsWithSuggestion) {
  std::string why;
  // Parses `text`; false (and the reason in `why`) when it is refused.
  auto parses = [&why](std::string_view text) {
    auto r = config::Cidr::parse(text);
    why = r.error();
    return r.ok();
  };
  EXPECT_FALSE(parses("10.1.2.3/8"));
  EXPECT_NE(why.find("host bits"), std::string::npos) << why;
  EXPECT_NE(why.find("'10.0.0.0/8'"), std::string::npos) << why;
  EXPECT_FALSE(parses("2001:db8::1/32"));
  EXPECT_NE(why.find("'2001:db8::/32'"), std::string::npos) << why;
  EXPECT_FALSE(parses("192.168.1.1/31"));
  EXPECT_NE(why.find("'192.168.1.0/31'"), std::string::npos) << why;
  EXPECT_FALSE(parses("10.0.0.0/40"));
  EXPECT_NE(why.find("longer than 32"), std::string::npos) << why;
  EXPECT_FALSE(parses("nonsense"));
  EXPECT_EQ(why, "not an IP address");
}

TEST(Cidr, MembershipIPv4) {
  EXPECT_TRUE(in("127.0.0.0/8", "127.0.0.1"));
  EXPECT_TRUE(in("127.0.0.0/8", "127.255.255.255"));
  EXPECT_FALSE(in("127.0.0.0/8", "128.0.0.1"));
  EXPECT_FALSE(in("127.0.0.0/8", "126.255.255.255"));
  EXPECT_TRUE(in("10.0.0.128/25", "10.0.0.200"));
  EXPECT_FALSE(in("10.0.0.128/25", "10.0.0.127"));
  EXPECT_TRUE(in("192.0.2.7", "192.0.2.7"));
  EXPECT_FALSE(in("192.0.2.7", "192.0.2.6"));
  EXPECT_TRUE(in("0.0.0.0/0", "203.0.113.9"));
  EXPECT_TRUE(in("172.16.0.0/12", "172.31.255.1"));
  EXPECT_FALSE(in("172.16.0.0/12", "172.32.0.1"));
}

TEST(Cidr, MembershipIPv6) {
  EXPECT_TRUE(in("::1/128", "::1"));
  EXPECT_FALSE(in("::1/128", "::2"));
  EXPECT_TRUE(in("2001:db8::/32", "2001:db8:ffff::1"));
  EXPECT_FALSE(in("2001:db8::/32", "2001:db9::1"));
  EXPECT_TRUE(in("fe80::/10", "febf::1"));
  EXPECT_FALSE(in("fe80::/10", "fec0::1"));
  EXPECT_TRUE(in("::/0", "2001:db8::1"));
}

TEST(Cidr, FamiliesDoNotMix) {
  EXPECT_FALSE(in("::/0", "127.0.0.1"));       // IPv6 prefixes never match IPv4 clients
  EXPECT_FALSE(in("::1/128", "127.0.0.1"));
  EXPECT_FALSE(in("::/0", "::ffff:192.0.2.1"));  // v4-mapped clients are IPv4 clients
  EXPECT_FALSE(in("0.0.0.0/0", "::1"));        // nor IPv4 prefixes native IPv6 clients
  EXPECT_FALSE(in("127.0.0.0/8", "::127.0.0.1"));  // v4-compatible (deprecated) is not v4-mapped
}

TEST(Cidr, V4MappedClientsMatchIPv4Prefixes) {
  EXPECT_TRUE(in("127.0.0.0/8", "::ffff:127.0.0.1"));
  EXPECT_TRUE(in("10.0.0.0/8", "::ffff:10.20.30.40"));
  EXPECT_FALSE(in("10.0.0.0/8", "::ffff:11.0.0.1"));
  EXPECT_TRUE(in("192.0.2.7", "::ffff:192.0.2.7"));
  EXPECT_TRUE(in("0.0.0.0/0", "::ffff:8.8.8.8"));
  // A prefix written in v4-mapped form matches plain IPv4 and mapped clients alike.
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "10.9.9.9"));
  EXPECT_TRUE(in("::ffff:10.0.0.0/104", "::ffff:10.9.9.9"));
  EXPECT_FALSE(in("::ffff:10.0.0.0/104", "11.0.0.1"));
}

// Built from a raw sockaddr_in6, as accept() reports an IPv4 peer on a
// dual-stack socket, so the test does not depend on SocketAddress parsing.
TEST(Cidr, RawV4MappedSockaddr) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(40000);
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:10.1.2.3", &sin6.sin6_addr), 1);
  engine::SocketAddress a(reinterpret_cast<const sockaddr*>(&sin6), sizeof sin6);
  ASSERT_EQ(a.family(), AF_INET6);
  EXPECT_TRUE(config::Cidr::parse("10.0.0.0/8")->contains(a));
  EXPECT_TRUE(config::Cidr::parse("10.1.2.3")->contains(a));
  EXPECT_FALSE(config::Cidr::parse("10.1.2.4")->contains(a));
  EXPECT_FALSE(config::Cidr::parse("::/0")->contains(a));  // an IPv4 client, whatever its socket family
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr), 1);
  engine::SocketAddress b(reinterpret_cast<const sockaddr*>(&sin), sizeof sin);
  EXPECT_TRUE(config::Cidr::parse("::ffff:10.0.0.0/104")->contains(b));
}

TEST(Cidr, AnyContainsAndUnsetAddress) {
  std::vector<config::Cidr> nets = {*config::Cidr::parse("127.0.0.0/8"), *config::Cidr::parse("::1/128")};
  EXPECT_TRUE(any_contains(nets, addr("127.0.0.1")));
  EXPECT_TRUE(any_contains(nets, addr("::1")));
  EXPECT_TRUE(any_contains(nets, addr("::ffff:127.1.2.3")));
  EXPECT_FALSE(any_contains(nets, addr("192.0.2.1")));
  EXPECT_FALSE(any_contains({}, addr("127.0.0.1")));
  EXPECT_FALSE(any_contains(nets, engine::SocketAddress{}));  // unset address matches nothing
  EXPECT_FALSE(config::Cidr::parse("0.0.0.0/0")->contains(engine::SocketAddress{}));
}

TEST(Cidr, WorksWithParsedSocketAddresses) {
  auto a = engine::SocketAddress::parse("[::ffff:127.0.0.1]:2525");
  ASSERT_TRUE(a.has_value());
  EXPECT_TRUE(config::Cidr::parse("127.0.0.0/8")->contains(*a));
  auto b = engine::SocketAddress::parse("127.0.0.1:25");
  ASSERT_TRUE(b.has_value());
  EXPECT_TRUE(config::Cidr::parse("127.0.0.1")->contains(*b));
}

}  // namespace
}  // namespace ringmta::config
