// tests/unit/mail/text_escape_test.cpp — escape_for_log (mail/text_escape):
// what client and remote text looks like on a log line or ringmtactl's
// terminal. Every byte below 0x20, DEL, bad UTF-8, C1 controls and the bidi
// overrides come out as printable escapes; ordinary text and UTF-8 stay.
#include <gtest/gtest.h>

#include <string>

#include "base/text.h"
#include "mail/text_escape.h"

namespace ringmta::mail {
namespace {

using namespace std::string_literals;

// No byte a terminal acts on: nothing below 0x20, no DEL, no byte >= 0x80
// outside valid UTF-8, and no C1 control.
bool terminal_safe(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return false;
    const size_t n = ringmta::base::utf8_sequence_length(s, i);
    if (n == 0) return false;
    if (n == 2 && c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0) return false;
    i += n;
  }
  return true;
}

TEST(TextEscape, PlainTextAndUtf8Unchanged) {
  for (const std::string& s : {""s, "mx.example.org"s, "user@example.org"s, "550 5.1.1 <a@b>: unknown (x=1)"s,
                              "j\xc3\xb6rg@b\xc3\xbc" "cher.example"s, "\xe2\x82\xac \xf0\x9f\x93\xa7"s,
                              "back\\slash \\x1b stays"s}) {
    EXPECT_FALSE(needs_log_escape(s)) << s;
    EXPECT_EQ(escape_for_log(s), s);
  }
}

TEST(TextEscape, ControlBytes) {
  EXPECT_EQ(escape_for_log("a\x1b[31mred\x1b[0m"), "a\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(escape_for_log("line\r\nforged: ok"), "line\\r\\nforged: ok");
  EXPECT_EQ(escape_for_log("tab\there"), "tab\\there");
  EXPECT_EQ(escape_for_log("tab\there", /*keep_tabs=*/true), "tab\there");
  EXPECT_EQ(escape_for_log("nul\0bell\a"s), "nul\\x00bell\\x07");
  EXPECT_EQ(escape_for_log("del\x7f"), "del\\x7f");
  EXPECT_EQ(escape_for_log("\x08\x0b\x0c\x1f"), "\\x08\\x0b\\x0c\\x1f");
  for (const char* s : {"\x1b", "\r", "\n", "\x7f", "\x01"}) EXPECT_TRUE(needs_log_escape(s));
  EXPECT_TRUE(needs_log_escape("\t"));
  EXPECT_FALSE(needs_log_escape("\t", true));
}

TEST(TextEscape, InvalidUtf8ByteByByte) {
  EXPECT_EQ(escape_for_log("x\xff\xfey"), "x\\xff\\xfey");
  EXPECT_EQ(escape_for_log("\xc3"), "\\xc3");                      // truncated
  EXPECT_EQ(escape_for_log("\xc0\xaf"), "\\xc0\\xaf");             // overlong '/'
  EXPECT_EQ(escape_for_log("\xed\xa0\x80"), "\\xed\\xa0\\x80");    // a surrogate
  EXPECT_EQ(escape_for_log("\xf4\x90\x80\x80"), "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
  EXPECT_EQ(escape_for_log("\x9b" "31m"), "\\x9b31m");            // a lone 8-bit CSI byte
}

TEST(TextEscape, C1AndBidiControls) {
  EXPECT_EQ(escape_for_log("a\xc2\x9b" "31mb"), "a\\u009b31mb");      // U+009B CSI
  EXPECT_EQ(escape_for_log("\xc2\x85"), "\\u0085");                  // NEL
  EXPECT_EQ(escape_for_log("\xc2\xa0"), "\xc2\xa0");                 // NBSP is text
  EXPECT_EQ(escape_for_log("abc\xe2\x80\xae" "fdp.exe"), "abc\\u202efdp.exe");  // RLO
  EXPECT_EQ(escape_for_log("\xe2\x80\xa8"), "\\u2028");
  EXPECT_EQ(escape_for_log("\xe2\x81\xa6x\xe2\x81\xa9"), "\\u2066x\\u2069");
}

TEST(TextEscape, EveryByteValueComesOutSafe) {
  // Each single byte, and each byte between text, never survives raw.
  for (int b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    const std::string out = escape_for_log("<" + one + ">");
    EXPECT_TRUE(terminal_safe(out)) << b;
    EXPECT_EQ(needs_log_escape(one), out != "<" + one + ">") << b;
  }
  // Two-byte sequences too (C1 range, bad continuations).
  for (int a = 0x80; a < 256; ++a)
    for (int b = 0; b < 256; b += 7) {
      const std::string s{static_cast<char>(a), static_cast<char>(b)};
      EXPECT_TRUE(terminal_safe(escape_for_log(s))) << a << " " << b;
    }
}

TEST(TextEscape, Utf8SequenceLength) {
  EXPECT_EQ(ringmta::base::utf8_sequence_length("a", 0), 1u);
  EXPECT_EQ(ringmta::base::utf8_sequence_length("\xc3\xa9", 0), 2u);
  EXPECT_EQ(ringmta::base::utf8_sequence_length("\xe2\x82\xac", 0), 3u);
  EXPECT_EQ(ringmta::base::utf8_sequence_length("\xf0\x9f\x93\xa7", 0), 4u);
  EXPECT_EQ(ringmta::base::utf8_sequence_length("\xe2\x82", 0), 0u);
  EXPECT_EQ(ringmta::base::utf8_sequence_length("\x80", 0), 0u);
  EXPECT_EQ(ringmta::base::utf8_sequence_length("\xe0\x80\x80", 0), 0u);  // overlong
}

}  // namespace
}  // namespace ringmta::mail
