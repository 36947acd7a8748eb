// tests/unit/mail/xtext_test.cpp — RFC 3461 xtext.
#include <gtest/gtest.h>

#include "mail/xtext.h"

using namespace ringmta::mail;

TEST(Xtext, Decode) {
  EXPECT_EQ(xtext_decode("abc"), "abc");
  EXPECT_EQ(xtext_decode(""), "");
  EXPECT_EQ(xtext_decode("a+2Bb+3D"), "a+b=");
  EXPECT_EQ(xtext_decode("+00"), std::string(1, '\0'));
  EXPECT_EQ(xtext_decode("+FF"), "\xff");
}

TEST(Xtext, RejectsMalformed) {
  for (auto bad : {"+", "+4", "a+2", "+2b", "+g0", "a=b", "a b", "\x7f", "\xc3\xa4", "+2B+"})
    EXPECT_FALSE(xtext_decode(bad).has_value()) << bad;
  EXPECT_FALSE(xtext_valid("+zz"));
  EXPECT_TRUE(xtext_valid("rfc822;a@b"));
}

TEST(Xtext, EncodeRoundTrip) {
  EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  EXPECT_EQ(xtext_decode(xtext_encode(all)), all);
}
