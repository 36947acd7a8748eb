// tests/unit/base/text_test.cpp — base/text.h (UTF-8, ASCII case folding, trimming)
// and base/base64.h.
#include <gtest/gtest.h>

#include "base/base64.h"
#include "base/text.h"

using namespace ringmta::base;

TEST(Text, Utf8SequenceLength) {
  EXPECT_EQ(utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xc3\xa9", 0), 2u);
  EXPECT_EQ(utf8_sequence_length("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(utf8_sequence_length("\xf0\x9f\x93\xa7", 0), 4u);
  EXPECT_EQ(utf8_sequence_length("\xe2\x82", 0), 0u);          // truncated
  EXPECT_EQ(utf8_sequence_length("\x80", 0), 0u);              // lone continuation
  EXPECT_EQ(utf8_sequence_length("\xc0\xaf", 0), 0u);          // overlong
  EXPECT_EQ(utf8_sequence_length("\xed\xa0\x80", 0), 0u);      // surrogate
  EXPECT_EQ(utf8_sequence_length("\xf4\x90\x80\x80", 0), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8_code_point("\xe2\x82\xac", 0, 3), 0x20ACu);
}

TEST(Text, ValidUtf8) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ascii"));
  EXPECT_TRUE(valid_utf8("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x93\xa7"));
  EXPECT_FALSE(valid_utf8("J\xc3"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("a\xed\xbf\xbf"));
}

TEST(Text, AsciiCaseFolding) {
  EXPECT_EQ(to_lower_ascii("MiXeD.Example.ORG"), "mixed.example.org");
  EXPECT_EQ(to_upper_ascii("ehlo"), "EHLO");
  // 8-bit bytes are not letters here, whatever the locale says.
  EXPECT_EQ(to_lower_ascii("\xc3\x89T\xc3\x89"), "\xc3\x89t\xc3\x89");
  EXPECT_TRUE(iequals("RcPt", "rcpt"));
  EXPECT_FALSE(iequals("rcpt", "rcp"));
  EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));
  EXPECT_TRUE(istarts_with("AUTH PLAIN", "auth "));
  EXPECT_FALSE(istarts_with("AU", "auth"));
}

TEST(Text, IsAscii) {
  EXPECT_TRUE(is_ascii(""));
  EXPECT_TRUE(is_ascii("plain \x7f ascii\r\n"));
  EXPECT_FALSE(is_ascii("caf\xc3\xa9"));
  EXPECT_FALSE(is_ascii("\x80"));
}

TEST(Text, AppendHexByte) {
  std::string out = "x";
  append_hex_byte(out, 0x00);
  append_hex_byte(out, 0x1b);
  append_hex_byte(out, 0xff);
  append_hex_byte(out, 0xab, true);
  EXPECT_EQ(out, "x001bffAB");
}

TEST(Text, Trim) {
  EXPECT_EQ(trim("  a b\t "), "a b");
  EXPECT_EQ(trim(" \t "), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("\r\nx\r\n"), "\r\nx\r\n");  // only SP and HTAB by default
  EXPECT_EQ(trim("\r\n x \r\n", " \t\r\n"), "x");
  EXPECT_EQ(trim_left("  x  "), "x  ");
  EXPECT_EQ(trim_right("  x \r", " \t\r"), "  x");
}

TEST(Base64, RoundTripAndStrictness) {
  for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("\0alice\0pw", 9), std::string(300, '\xff')})
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
  EXPECT_EQ(base64_encode(std::string("\0a\0b", 4)), "AGEAYg==");
  EXPECT_FALSE(base64_decode("AGEAYg"));      // padding required
  EXPECT_FALSE(base64_decode("AG=AYg=="));    // data after '='
  EXPECT_FALSE(base64_decode("AGEA Yg=="));   // no whitespace
  EXPECT_FALSE(base64_decode("AGEAYg=!"));
}
