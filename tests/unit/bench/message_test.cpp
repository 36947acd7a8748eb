// tests/unit/bench/message_test.cpp — generated messages have the exact
// size asked for; message files are CRLF-normalised and dot-stuffed.
#include <gtest/gtest.h>

#include <string>

#include "bench/message.h"
#include "bench/util.h"

using namespace ringmta::bench;

TEST(Messages, GeneratedSizeIsExact) {
  for (uint64_t size : {400ull, 401ull, 402ull, 479ull, 480ull, 1000ull, 4096ull, 65536ull, 1000001ull}) {
    MessageSet m = generate_messages(size, "s@a.test", "r@b.test");
    ASSERT_EQ(m.count(), 1u);
    EXPECT_EQ(m.sizes[0], size);
    EXPECT_EQ(m.bodies[0].size() + kMessageIdLineSize, size);
    const std::string& b = m.bodies[0];
    EXPECT_EQ(b.substr(b.size() - 2), "\r\n");
    EXPECT_EQ(b.find("\n."), std::string::npos);  // nothing to dot-stuff
    EXPECT_EQ(b.find("\r\n\r\n"), b.find("\r\n\r\n"));
    size_t pos = 0, longest = 0;
    for (size_t nl; (nl = b.find("\r\n", pos)) != std::string::npos; pos = nl + 2) longest = std::max(longest, nl - pos);
    EXPECT_LE(longest, 998u);  // RFC 5322 line length
  }
  std::string id;
  append_message_id_line(id, 0xffffffffffffffffull, 0xffffffffu);
  EXPECT_EQ(id.size(), kMessageIdLineSize);
  EXPECT_EQ(id.substr(id.size() - 2), "\r\n");
}

TEST(Messages, SmallerThanHeadersGetsHeadersOnly) {
  MessageSet m = generate_messages(10, "s@a.test", "r@b.test");
  EXPECT_GT(m.sizes[0], 10u);
  EXPECT_EQ(m.sizes[0], m.bodies[0].size() + kMessageIdLineSize);
}

TEST(Messages, PrepareForWire) {
  EXPECT_EQ(prepare_for_wire("a\nb"), "a\r\nb\r\n");
  EXPECT_EQ(prepare_for_wire("a\r\nb\r\n"), "a\r\nb\r\n");
  EXPECT_EQ(prepare_for_wire(".x\n..y\nz.\n.\n"), "..x\r\n...y\r\nz.\r\n..\r\n");
  EXPECT_EQ(prepare_for_wire("lone\rcr"), "lone\r\ncr\r\n");
  EXPECT_EQ(prepare_for_wire(""), "");
}

TEST(Util, GroupDigits) {
  EXPECT_EQ(group_digits(0), "0");
  EXPECT_EQ(group_digits(999), "999");
  EXPECT_EQ(group_digits(1000), "1,000");
  EXPECT_EQ(group_digits(1234567), "1,234,567");
}

TEST(Messages, MessageIdLine) {
  std::string id;
  append_message_id_line(id, 0x0123456789abcdefull, 0x2a);
  EXPECT_EQ(id, "Message-ID: <0123456789abcdef.0000002a@ringmta-bench.test>\r\n");
}
