// tests/unit/dkim/canon_test.cpp — header and body canonicalisation
// (RFC 6376 §3.4), the §3.4.6 example byte for byte, and the streaming body
// canonicaliser fed in every split.
#include <gtest/gtest.h>

#include "dkim/canon.h"

namespace ringmta::dkim {
namespace {

// RFC 6376 §3.4.6.
const std::string kExample =
    "A: X\r\n"
    "B : Y\t\r\n"
    "\tZ  \r\n"
    "\r\n"
    " C \r\n"
    "D \t E\r\n"
    "\r\n"
    "\r\n";

std::string headers(Canon c, std::string_view message) {
  std::string out;
  for (const auto& f : split_fields(message).fields) out += canon_header(c, f);
  return out;
}

std::string body(Canon c, std::string_view message) {
  return canon_body(c, message.substr(split_fields(message).body_offset));
}

TEST(DkimCanon, Rfc6376Example_Relaxed) {
  EXPECT_EQ(headers(Canon::Relaxed, kExample), "a:X\r\nb:Y Z\r\n");
  EXPECT_EQ(body(Canon::Relaxed, kExample), " C\r\nD E\r\n");
}

TEST(DkimCanon, Rfc6376Example_Simple) {
  EXPECT_EQ(headers(Canon::Simple, kExample), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  EXPECT_EQ(body(Canon::Simple, kExample), " C \r\nD \t E\r\n");
}

TEST(DkimCanon, SplitFindsNamesAndBody) {
  const std::string m = "From : a@b\r\nSubject: x\r\n y\r\n\r\nbody\r\n";
  auto s = split_fields(m);
  ASSERT_EQ(s.fields.size(), 2u);
  EXPECT_EQ(s.fields[0].name, "From");
  EXPECT_EQ(s.fields[1].name, "Subject");
  EXPECT_EQ(s.fields[1].text, "Subject: x\r\n y\r\n");
  EXPECT_EQ(m.substr(s.body_offset), "body\r\n");
}

TEST(DkimCanon, SplitSkipsJunkAndNoBody) {
  const std::string m = " leading continuation\r\nno colon here\r\nTo: x\r\n";
  auto s = split_fields(m);
  ASSERT_EQ(s.fields.size(), 1u);
  EXPECT_EQ(s.fields[0].name, "To");
  EXPECT_EQ(s.body_offset, m.size());
}

TEST(DkimCanon, EmptyBodies) {
  // Simple: an empty body is one CRLF; relaxed: nothing (erratum 1384).
  EXPECT_EQ(canon_body(Canon::Simple, ""), "\r\n");
  EXPECT_EQ(canon_body(Canon::Simple, "\r\n\r\n\r\n"), "\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, ""), "");
  EXPECT_EQ(canon_body(Canon::Relaxed, " \r\n\t\r\n"), "");
}

TEST(DkimCanon, MissingFinalCrlfIsAdded) {
  EXPECT_EQ(canon_body(Canon::Simple, "abc"), "abc\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "abc  "), "abc\r\n");
}

TEST(DkimCanon, BareCrAndLfAreContent) {
  EXPECT_EQ(canon_body(Canon::Simple, "a\nb\rc\r\n"), "a\nb\rc\r\n");
  EXPECT_EQ(canon_body(Canon::Relaxed, "a\r"), "a\r\r\n");
}

TEST(DkimCanon, EmptyLinesInsideAreKept) {
  EXPECT_EQ(canon_body(Canon::Relaxed, "a\r\n\r\n \r\nb\r\n\r\n"), "a\r\n\r\n\r\nb\r\n");
  EXPECT_EQ(canon_body(Canon::Simple, "a\r\n\r\n \r\nb\r\n\r\n"), "a\r\n\r\n \r\nb\r\n");
}

TEST(DkimCanon, EightBitBytesPassThrough) {
  const std::string b = "gr\xc3\xbc\xc3\x9f\x65 \xff\r\n";
  EXPECT_EQ(canon_body(Canon::Relaxed, b), b);
}

// Every split of the input into two chunks gives the same canonical form.
TEST(DkimCanon, StreamingMatchesWholeAtEverySplit) {
  const std::string b = "x \t\r\n\r\n  y\r\r\n\r\nz \r\n\r\n\r\n";
  for (Canon c : {Canon::Simple, Canon::Relaxed}) {
    const std::string whole = canon_body(c, b);
    for (size_t i = 0; i <= b.size(); ++i) {
      BodyCanon bc(c);
      std::string out;
      bc.feed(std::string_view(b).substr(0, i), out);
      bc.feed(std::string_view(b).substr(i), out);
      bc.finish(out);
      EXPECT_EQ(out, whole) << "split at " << i;
    }
  }
}

TEST(DkimCanon, RelaxedHeaderTrimsAroundColonAndEnd) {
  const RawField f{"SUBJect", "SUBJect \t:  hello   \t world \r\n"};
  EXPECT_EQ(canon_header(Canon::Relaxed, f), "subject:hello world\r\n");
}

}  // namespace
}  // namespace ringmta::dkim
