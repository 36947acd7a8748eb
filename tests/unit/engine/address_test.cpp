// tests/unit/engine/address_test.cpp — SocketAddress parse/print golden cases.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

#include "engine/address.h"

using ringmta::engine::SocketAddress;

TEST(SocketAddress, ParsesAndPrintsGoodForms) {
  struct Case {
    const char* in;
    const char* ip;
    uint16_t port;
    const char* out;
    int family;
  } cases[] = {
      {"1.2.3.4:25", "1.2.3.4", 25, "1.2.3.4:25", AF_INET},
      {"127.0.0.1:0", "127.0.0.1", 0, "127.0.0.1:0", AF_INET},
      {"0.0.0.0:65535", "0.0.0.0", 65535, "0.0.0.0:65535", AF_INET},
      {"[::1]:25", "::1", 25, "[::1]:25", AF_INET6},
      {"[::]:587", "::", 587, "[::]:587", AF_INET6},
      {"[2001:db8::1]:465", "2001:db8::1", 465, "[2001:db8::1]:465", AF_INET6},
      // v4-mapped v6 prints as v4.
      {"[::ffff:10.0.0.1]:25", "10.0.0.1", 25, "10.0.0.1:25", AF_INET6},
  };
  for (const auto& c : cases) {
    auto a = SocketAddress::parse(c.in);
    ASSERT_TRUE(a.has_value()) << c.in;
    EXPECT_EQ(a->ip(), c.ip) << c.in;
    EXPECT_EQ(a->port(), c.port) << c.in;
    EXPECT_EQ(a->to_string(), c.out) << c.in;
    EXPECT_EQ(a->family(), c.family) << c.in;
  }
}

TEST(SocketAddress, RejectsBadForms) {
  const char* bad[] = {
      "",           "1.2.3.4",      "1.2.3.4:",      "1.2.3.4:65536", "1.2.3.4:99999",
      "1.2.3.4:-1", "1.2.3.4:2a",   "1.2.3.4: 25",   "1.2.3:25",      "1.2.3.256:25",
      "::1:25",     "[::1]",        "[::1]:",        "[::1]25",       "[1.2.3.4]:25",
      "[::1:25",    "host.example:25", "garbage",    ":25",           "[]:25",
      "1.2.3.4:123456", "[fe80::1%eth0]:25",
  };
  for (const char* b : bad) EXPECT_FALSE(SocketAddress::parse(b).has_value()) << b;
}

TEST(SocketAddress, FromIp) {
  auto a = SocketAddress::from_ip("127.0.0.1", 2525);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->to_string(), "127.0.0.1:2525");
  auto b = SocketAddress::from_ip("::1", 1);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->to_string(), "[::1]:1");
  EXPECT_FALSE(SocketAddress::from_ip("localhost", 25));
  EXPECT_FALSE(SocketAddress::from_ip("", 25));
  using namespace std::string_view_literals;
  EXPECT_FALSE(SocketAddress::from_ip("127.0.0.1\0junk"sv, 25));
  EXPECT_FALSE(SocketAddress::from_ip("127.0.0.1\0"sv, 25));
  EXPECT_FALSE(SocketAddress::parse("127.0.0.1\0:25"sv));
}

TEST(SocketAddress, Wildcard) {
  EXPECT_TRUE(SocketAddress::parse("0.0.0.0:25")->is_wildcard());
  EXPECT_TRUE(SocketAddress::parse("[::]:25")->is_wildcard());
  EXPECT_FALSE(SocketAddress::parse("127.0.0.1:25")->is_wildcard());
  EXPECT_FALSE(SocketAddress::parse("[::1]:25")->is_wildcard());
  EXPECT_FALSE(SocketAddress::parse("[::ffff:0.0.0.0]:25")->is_wildcard());
  EXPECT_FALSE(SocketAddress().is_wildcard());
}

TEST(SocketAddress, FromSockaddr) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(8080);
  inet_pton(AF_INET, "10.1.2.3", &sin.sin_addr);
  SocketAddress a(reinterpret_cast<sockaddr*>(&sin), sizeof(sin));
  EXPECT_EQ(a.to_string(), "10.1.2.3:8080");
  EXPECT_EQ(a.size(), sizeof(sin));
  SocketAddress empty;
  EXPECT_EQ(empty.to_string(), "");
  EXPECT_EQ(empty.port(), 0);
}
