// tests/unit/dkim/tags_test.cpp — the DKIM tag-list parser (RFC 6376 §3.2).
#include <gtest/gtest.h>

#include "dkim/tags.h"

namespace ringmta::dkim {
namespace {

TEST(DkimTags, ParsesWithFwsAndTrailingSemicolon) {
  auto t = parse_tags(" v=1;\r\n\ta = rsa-sha256 ; b=AB\r\n CD ;");
  ASSERT_TRUE(t.ok()) << t.error;
  ASSERT_EQ(t.tags.size(), 3u);
  EXPECT_EQ(*t.get("v"), "1");
  EXPECT_EQ(*t.get("a"), "rsa-sha256");
  EXPECT_EQ(*t.get("b"), "AB\r\n CD");
  EXPECT_EQ(strip_fws(*t.get("b")), "ABCD");
  EXPECT_FALSE(t.get("A"));  // names are case-sensitive
}

TEST(DkimTags, EmptyValueAndEmptyList) {
  auto t = parse_tags("b=; c=x");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t.get("b"), "");
  EXPECT_TRUE(parse_tags("").ok());
  EXPECT_TRUE(parse_tags("  ").ok());
}

TEST(DkimTags, KeyRecord) {
  auto t = parse_tags("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t.get("p"), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
}

TEST(DkimTags, Errors) {
  EXPECT_FALSE(parse_tags("v=1; v=2").ok());        // duplicate
  EXPECT_FALSE(parse_tags("=1").ok());              // no name
  EXPECT_FALSE(parse_tags("1a=1").ok());            // name must start with a letter
  EXPECT_FALSE(parse_tags("v").ok());               // no '='
  EXPECT_FALSE(parse_tags("v=a\r\nb").ok());        // CRLF without WSP: not a fold
  EXPECT_FALSE(parse_tags("v=a\x01").ok());         // control character
  EXPECT_FALSE(parse_tags("v=\xc3\xa9").ok());      // 8-bit
  EXPECT_FALSE(parse_tags(";;").ok());              // empty tag-spec
  auto t = parse_tags("a=1; a=2");
  EXPECT_TRUE(t.tags.empty());
  EXPECT_NE(t.error.find("twice"), std::string::npos);
}

TEST(DkimTags, TooManyTags) {
  std::string s;
  for (int i = 0; i < 100; ++i) s += "t" + std::to_string(i) + "=x;";
  EXPECT_FALSE(parse_tags(s).ok());
  EXPECT_TRUE(parse_tags(s, 100).ok());
}

}  // namespace
}  // namespace ringmta::dkim
