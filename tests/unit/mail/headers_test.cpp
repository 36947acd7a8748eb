// tests/unit/mail/headers_test.cpp — mail/headers.h: splitting a stored message,
// listing and unfolding fields, the header-block size limit.
#include "mail/headers.h"

#include <gtest/gtest.h>

#include <string>

using namespace ringmta::mail;

TEST(SplitMessage, CrlfHeadersAndBody) {
  std::string m = "From: a@x\r\nSubject: hi\r\n\r\nbody\r\nmore\r\n";
  MessageParts p = split_message(m);
  EXPECT_TRUE(p.has_separator);
  EXPECT_EQ(p.header_block, "From: a@x\r\nSubject: hi\r\n");
  EXPECT_EQ(p.body, "body\r\nmore\r\n");
}

TEST(SplitMessage, BareLfTolerated) {
  MessageParts p = split_message("A: 1\nB: 2\n\nbody\n");
  EXPECT_TRUE(p.has_separator);
  EXPECT_EQ(p.header_block, "A: 1\nB: 2\n");
  EXPECT_EQ(p.body, "body\n");
}

TEST(SplitMessage, NoBody) {
  MessageParts p = split_message("A: 1\r\nB: 2\r\n");
  EXPECT_FALSE(p.has_separator);
  EXPECT_EQ(p.header_block, "A: 1\r\nB: 2\r\n");
  EXPECT_TRUE(p.body.empty());
  // Unterminated last line: still all header.
  p = split_message("A: 1\r\nB: 2");
  EXPECT_EQ(p.header_block, "A: 1\r\nB: 2");
  // Separator with empty body.
  p = split_message("A: 1\r\n\r\n");
  EXPECT_TRUE(p.has_separator);
  EXPECT_EQ(p.header_block, "A: 1\r\n");
  EXPECT_TRUE(p.body.empty());
}

TEST(SplitMessage, EmptyFirstLineMeansNoHeaders) {
  MessageParts p = split_message("\r\nbody\r\n");
  EXPECT_TRUE(p.has_separator);
  EXPECT_TRUE(p.header_block.empty());
  EXPECT_EQ(p.body, "body\r\n");
  p = split_message("");
  EXPECT_FALSE(p.has_separator);
  EXPECT_TRUE(p.header_block.empty());
}

TEST(SplitMessage, WhitespaceOnlyLineIsNotTheSeparator) {
  // RFC 5322: the separator is an empty line; " \r\n" is a continuation.
  MessageParts p = split_message("A: 1\r\n \r\nB: 2\r\n\r\nx");
  EXPECT_EQ(p.header_block, "A: 1\r\n \r\nB: 2\r\n");
  EXPECT_EQ(p.body, "x");
}

TEST(HeaderFields, InOrderWithRawFoldedValues) {
  std::string h = "Subject: one\r\n two\r\nX-A:b\r\nTo: c@x\r\n";
  auto f = header_fields(h);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "Subject");
  EXPECT_EQ(f[0].raw_value, " one\r\n two");
  EXPECT_EQ(f[1].name, "X-A");
  EXPECT_EQ(f[1].raw_value, "b");
  EXPECT_EQ(f[2].name, "To");
  EXPECT_EQ(f[2].raw_value, " c@x");
}

TEST(HeaderFields, MalformedLinesSkipped) {
  std::string h = " stray continuation\r\nno colon here\r\n: empty name\r\nBad Name: x\r\nOk: 1\r\n\tcont\r\n";
  auto f = header_fields(h);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].name, "Ok");
  EXPECT_EQ(f[0].raw_value, " 1\r\n\tcont");
}

TEST(HeaderFields, ObsoleteSpaceBeforeColonAndLimit) {
  auto f = header_fields("Subject : x\nA: 1\nB: 2\n");
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "Subject");
  EXPECT_EQ(header_fields("A: 1\nB: 2\nC: 3\n", 2).size(), 2u);
}

TEST(Unfold, RemovesLineEndsKeepsWhitespace) {
  EXPECT_EQ(unfold(" one\r\n two\r\n\tthree "), "one two\tthree");
  EXPECT_EQ(unfold(" a\n b"), "a b");
  EXPECT_EQ(unfold(""), "");
  EXPECT_EQ(unfold(" \r\n "), "");
}

TEST(HeaderValue, FirstMatchCaseInsensitive) {
  std::string h = "Received: one\r\nmessage-id: <a@b>\r\nRECEIVED: two\r\nSubject: s\r\n t\r\n";
  EXPECT_EQ(header_value(h, "Message-ID").value(), "<a@b>");
  EXPECT_EQ(header_value(h, "received").value(), "one");
  EXPECT_EQ(header_value(h, "subject").value(), "s t");
  EXPECT_FALSE(header_value(h, "To").has_value());
  EXPECT_FALSE(header_value(h, "Subjec").has_value());
}

TEST(LimitHeaderBlock, CutsAtFieldBoundary) {
  std::string h = "A: 1\r\nB: 2\r\n folded\r\nC: 3\r\n";
  auto r = limit_header_block(h, h.size());
  EXPECT_FALSE(r.truncated);
  EXPECT_EQ(r.header_block, h);
  // B with its continuation ends at byte 21: 20 bytes keep only A.
  r = limit_header_block(h, 20);
  EXPECT_TRUE(r.truncated);
  EXPECT_EQ(r.header_block, "A: 1\r\n");
  r = limit_header_block(h, 21);
  EXPECT_EQ(r.header_block, "A: 1\r\nB: 2\r\n folded\r\n");
  r = limit_header_block(h, 3);
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.header_block.empty());
}

TEST(LimitHeaderBlock, HugeSingleFoldedField) {
  std::string h = "X: a\r\n";
  for (int i = 0; i < 1000; ++i) h += " continuation line\r\n";
  h += "Y: 1\r\n";
  auto r = limit_header_block(h, 100);
  EXPECT_TRUE(r.truncated);
  EXPECT_TRUE(r.header_block.empty());
  r = limit_header_block(h, h.size() - 1);
  EXPECT_EQ(r.header_block, h.substr(0, h.size() - 6));
}

// Hop counting (limits.max_hops): fields of the header section only, any
// case, obsolete "Name :" too; look-alike names, continuation lines and
// anything after the empty line do not count.
TEST(CountHeaderFields, HeaderSectionOnly) {
  std::string m = "Received: a\r\n\tfolded Received: x\r\nRECEIVED : b\r\nReceived-SPF: pass\r\n"
                  "X-Received: c\r\nreceived:d\r\nReceived\r\n\r\nReceived: in the body\r\n";
  EXPECT_EQ(count_header_fields(m, "Received", 100), 3u);
  EXPECT_EQ(count_header_fields("\r\nReceived: x\r\n", "Received", 100), 0u);  // no headers at all
  EXPECT_EQ(count_header_fields("Received: x", "Received", 100), 1u);          // no line end, no body
  EXPECT_EQ(count_header_fields("Received: a\nReceived: b\n\nReceived: c\n", "Received", 100), 2u);
  EXPECT_EQ(count_header_fields("", "Received", 100), 0u);
}

TEST(CountHeaderFields, StopsJustPastTheLimit) {
  std::string m;
  for (int i = 0; i < 1000; ++i) m += "Received: hop\r\n";
  EXPECT_EQ(count_header_fields(m, "Received", 50), 51u);
  EXPECT_EQ(count_header_fields(m, "Received", 5000), 1000u);
}
