// tests/unit/proto/smtp/reply_parser_test.cpp — unit tests for the SMTP reply parser.
#include "proto/smtp/reply_parser.h"

#include <gtest/gtest.h>

using ringmta::smtp::Reply;
using ringmta::smtp::ReplyLimits;
using ringmta::smtp::ReplyParser;
using Status = ReplyParser::Status;

namespace {

// Feed all of `bytes`; collect complete replies; return the last status.
Status parse_all(ReplyParser& p, std::string_view bytes, std::vector<Reply>& out) {
  Status s = Status::NeedMore;
  while (!bytes.empty()) {
    s = p.feed(bytes);
    if (s == Status::Error) return s;
    if (s == Status::Complete) out.push_back(p.take());
  }
  return s;
}

}  // namespace

TEST(ReplyParser, SingleLine) {
  ReplyParser p;
  std::vector<Reply> r;
  EXPECT_EQ(parse_all(p, "250 2.1.0 Sender ok\r\n", r), Status::Complete);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, 250);
  EXPECT_EQ(r[0].enhanced, "2.1.0");
  EXPECT_EQ(r[0].text(), "Sender ok");
  EXPECT_EQ(r[0].str(), "250 2.1.0 Sender ok");
  EXPECT_TRUE(r[0].positive());
}

TEST(ReplyParser, MultiLineStripsRepeatedEnhancedCode) {
  ReplyParser p;
  std::vector<Reply> r;
  parse_all(p, "550-5.1.1 No such user\r\n550-5.1.1\r\n550 5.1.1 Try another\r\n", r);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].code, 550);
  EXPECT_EQ(r[0].enhanced, "5.1.1");
  ASSERT_EQ(r[0].lines.size(), 3u);
  EXPECT_EQ(r[0].str(), "550 5.1.1 No such user Try another");
  EXPECT_TRUE(r[0].permanent());
}

TEST(ReplyParser, CodeOnlyAndNoEnhanced) {
  ReplyParser p;
  std::vector<Reply> r;
  parse_all(p, "354\r\n451 try later\r\n", r);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].code, 354);
  EXPECT_EQ(r[0].str(), "354");
  EXPECT_EQ(r[1].enhanced, "");
  EXPECT_EQ(r[1].enhanced_or_default(), "4.0.0");
  EXPECT_EQ(r[1].str(), "451 try later");
}

TEST(ReplyParser, EnhancedClassMustMatchCode) {
  ReplyParser p;
  std::vector<Reply> r;
  parse_all(p, "550 4.1.1 odd\r\n250 2.0.0x not a code\r\n250 2.1234.5 no\r\n", r);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].enhanced, "");
  EXPECT_EQ(r[0].text(), "4.1.1 odd");
  EXPECT_EQ(r[0].enhanced_or_default(), "5.0.0");
  EXPECT_EQ(r[1].enhanced, "");
  EXPECT_EQ(r[2].enhanced, "");
}

TEST(ReplyParser, BareLfAndSplitAtEveryByte) {
  const std::string in = "250-mx.example\n250-PIPELINING\r\n250 SIZE 1000\n";
  for (size_t cut = 0; cut <= in.size(); ++cut) {
    ReplyParser p;
    std::vector<Reply> r;
    parse_all(p, std::string_view(in).substr(0, cut), r);
    parse_all(p, std::string_view(in).substr(cut), r);
    ASSERT_EQ(r.size(), 1u) << cut;
    ASSERT_EQ(r[0].lines.size(), 3u);
    EXPECT_EQ(r[0].lines[2], "SIZE 1000");
  }
}

TEST(ReplyParser, PipelinedRepliesLeaveRestInInput) {
  ReplyParser p;
  std::string_view in = "250 ok\r\n550 no\r\n25";
  EXPECT_EQ(p.feed(in), Status::Complete);
  EXPECT_EQ(p.take().code, 250);
  EXPECT_EQ(in, "550 no\r\n25");
  EXPECT_EQ(p.feed(in), Status::Complete);
  EXPECT_EQ(p.take().code, 550);
  EXPECT_EQ(p.feed(in), Status::NeedMore);
  EXPECT_TRUE(p.partial());
  std::string_view more = "0 fine\r\n";
  EXPECT_EQ(p.feed(more), Status::Complete);
  EXPECT_EQ(p.take().str(), "250 fine");
}

TEST(ReplyParser, Errors) {
  for (std::string_view bad : {"hello\r\n", "\r\n", "25\r\n", "250x\r\n", "199 no\r\n", "650 no\r\n", "260 x\r\n",
                               "250-a\r\n251 b\r\n", "2a0 x\r\n"}) {
    ReplyParser p;
    std::vector<Reply> r;
    EXPECT_EQ(parse_all(p, bad, r), Status::Error) << bad;
    EXPECT_FALSE(p.error().empty());
    // Stays in error until reset.
    std::string_view again = "250 ok\r\n";
    EXPECT_EQ(p.feed(again), Status::Error);
    p.reset();
    EXPECT_EQ(p.feed(again), Status::Complete);
  }
}

TEST(ReplyParser, LineAndLineCountLimits) {
  ReplyLimits lim;
  lim.max_line = 20;
  lim.max_lines = 3;
  {
    ReplyParser p(lim);
    std::vector<Reply> r;
    EXPECT_EQ(parse_all(p, "250 " + std::string(16, 'a') + "\r\n", r), Status::Complete);  // exactly 20
    EXPECT_EQ(parse_all(p, "250 " + std::string(17, 'a') + "\r\n", r), Status::Error);
  }
  {
    ReplyParser p(lim);
    std::string_view endless = "250 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";  // no line end ever
    EXPECT_EQ(p.feed(endless), Status::Error);
  }
  {
    ReplyParser p(lim);
    std::vector<Reply> r;
    EXPECT_EQ(parse_all(p, "250-a\r\n250-b\r\n250 c\r\n", r), Status::Complete);
    EXPECT_EQ(parse_all(p, "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", r), Status::Error);
  }
}

TEST(ReplyParser, ControlCharactersSanitized) {
  ReplyParser p;
  std::vector<Reply> r;
  static const char kBytes[] = "550 bad\x01\rtext\tok\x7f\r\n";
  parse_all(p, std::string_view(kBytes, sizeof kBytes - 1), r);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].text(), "bad??text\tok?");
}
