// tests/unit/proto/imap/mutf7_test.cpp — modified UTF-7 mailbox names
// (RFC 3501 §5.1.3) and the UTF8=ACCEPT name check (RFC 6855 §3): the RFC's
// example, round trips, and every class of invalid form the decoder rejects.
#include <gtest/gtest.h>

#include <string>

#include "proto/imap/mutf7.h"

using namespace ringmta::imap;

namespace {

std::string dec(std::string_view s) {
  auto r = mutf7_decode(s);
  return r ? *r : std::string("<invalid>");
}
std::string enc(std::string_view s) {
  auto r = mutf7_encode(s);
  return r ? *r : std::string("<invalid>");
}

}  // namespace

TEST(Mutf7, Rfc3501Example) {
  // RFC 3501 §5.1.3: "~peter/mail/台北/日本語".
  const std::string utf8 = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
  EXPECT_EQ(enc(utf8), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(dec("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), utf8);
}

TEST(Mutf7, AsciiAndAmpersand) {
  EXPECT_EQ(enc("INBOX"), "INBOX");
  EXPECT_EQ(enc(""), "");
  EXPECT_EQ(enc("Tom & Jerry"), "Tom &- Jerry");
  EXPECT_EQ(dec("Tom &- Jerry"), "Tom & Jerry");
  EXPECT_EQ(dec("&-&-"), "&&");
  EXPECT_EQ(enc("~!\"#$%'()*+,-./:;<=>?@[\\]^_`{|}"), "~!\"#$%'()*+,-./:;<=>?@[\\]^_`{|}");
}

TEST(Mutf7, KnownForms) {
  EXPECT_EQ(enc("Entw\xc3\xbcrfe"), "Entw&APw-rfe");          // ü: one unit, 4 leftover bits
  EXPECT_EQ(enc("\xc3\xa4\xc3\xb6\xc3\xbc"), "&AOQA9gD8-");   // three units, 48 bits exactly
  EXPECT_EQ(enc("\xd0\x9f\xd0\xbe"), "&BB8EPg-");              // Cyrillic "По"
  EXPECT_EQ(enc("\xf0\x9f\x98\x80"), "&2D3eAA-");              // U+1F600: a surrogate pair
  EXPECT_EQ(dec("&2D3eAA-"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(dec("Entw&APw-rfe"), "Entw\xc3\xbcrfe");
  // A shifted run ends at a printable character and restarts after it.
  EXPECT_EQ(enc("\xc3\xa4 \xc3\xa4"), "&AOQ- &AOQ-");
  EXPECT_EQ(enc("\xc3\xa4&"), "&AOQ-&-");
  EXPECT_EQ(dec("&AOQ-&-"), "\xc3\xa4&");
}

TEST(Mutf7, RoundTrips) {
  const char* names[] = {"INBOX", "Sent Items", "a&b&&c", "\xe2\x82\xac uro",
                         "Archive/2026/\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x90\x80\x80x\xf4\x8f\xbf\xbd",
                         "\xc2\xa0", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"};
  for (const char* n : names) {
    auto e = mutf7_encode(n);
    ASSERT_TRUE(e) << n;
    for (char c : *e) EXPECT_TRUE(c >= 0x20 && c <= 0x7e) << n;
    EXPECT_EQ(dec(*e), n);
  }
}

TEST(Mutf7, EncodeRejectsInvalidNames) {
  EXPECT_EQ(enc("\xff"), "<invalid>");                 // not UTF-8
  EXPECT_EQ(enc("\xc0\xaf"), "<invalid>");             // overlong
  EXPECT_EQ(enc("\xed\xa0\x80"), "<invalid>");         // a surrogate in UTF-8
  EXPECT_EQ(enc(std::string("a\0b", 3)), "<invalid>"); // control characters
  EXPECT_EQ(enc("a\tb"), "<invalid>");
  EXPECT_EQ(enc("a\x7f"), "<invalid>");
  EXPECT_EQ(enc("\xc2\x85"), "<invalid>");             // NEL, a C1 control
  EXPECT_EQ(enc("\xe2\x80\xa8"), "<invalid>");         // LINE SEPARATOR
}

TEST(Mutf7, DecodeRejectsInvalidForms) {
  EXPECT_EQ(dec("a&"), "<invalid>");          // unterminated shift
  EXPECT_EQ(dec("&AOQ"), "<invalid>");
  EXPECT_EQ(dec("&A*Q-"), "<invalid>");       // not modified base64
  EXPECT_EQ(dec("&AO/-"), "<invalid>");       // '/' is ',' in modified base64
  EXPECT_EQ(dec("&AOQ=-"), "<invalid>");      // no padding
  EXPECT_EQ(dec("&APx-"), "<invalid>");       // leftover bits not zero
  EXPECT_EQ(dec("&AOQA-"), "<invalid>");      // a base64 character too many
  EXPECT_EQ(dec("&AO-"), "<invalid>");        // too few bits for a unit
  EXPECT_EQ(dec("&AGE-"), "<invalid>");       // 'a' must stand for itself
  EXPECT_EQ(dec("&ACY-"), "<invalid>");       // '&' must be "&-"
  EXPECT_EQ(dec("&2D0-"), "<invalid>");       // high surrogate alone
  EXPECT_EQ(dec("&3gA-"), "<invalid>");       // low surrogate alone
  EXPECT_EQ(dec("&2D3YPQ-"), "<invalid>");    // high surrogate then high surrogate
  EXPECT_EQ(dec("&AOQ-&APY-"), "<invalid>");  // two shifts in a row: must be one
  EXPECT_EQ(dec("&AAA-"), "<invalid>");       // NUL
  EXPECT_EQ(dec("&AAk-"), "<invalid>");       // TAB
  EXPECT_EQ(dec("a\tb"), "<invalid>");        // raw control character
  EXPECT_EQ(dec("\xc3\xa4"), "<invalid>");    // raw 8-bit (that is UTF8=ACCEPT's form)
  EXPECT_EQ(dec("&AOQ-&APY-x"), "<invalid>");
  EXPECT_EQ(dec("&AOQ-x&APY-"), "\xc3\xa4x\xc3\xb6");
  EXPECT_EQ(dec("&AOQ-&-&APY-"), "\xc3\xa4&\xc3\xb6");
}

TEST(Mutf7, Utf8MailboxNames) {
  EXPECT_TRUE(valid_utf8_mailbox_name("INBOX"));
  EXPECT_TRUE(valid_utf8_mailbox_name(""));
  EXPECT_TRUE(valid_utf8_mailbox_name("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97"));
  EXPECT_TRUE(valid_utf8_mailbox_name("\xf0\x9f\x98\x80 & more"));
  EXPECT_FALSE(valid_utf8_mailbox_name("\xff"));
  EXPECT_FALSE(valid_utf8_mailbox_name("\xe5\x8f"));       // truncated
  EXPECT_FALSE(valid_utf8_mailbox_name("a\r\nb"));
  EXPECT_FALSE(valid_utf8_mailbox_name("\xc2\x9f"));       // C1
  EXPECT_FALSE(valid_utf8_mailbox_name("\xe2\x80\xa9"));   // PARAGRAPH SEPARATOR
}

// Every input of up to 5 characters over a small alphabet that decodes must re-encode to itself.
TEST(Mutf7, DecodeEncodeExhaustiveShort) {
  const std::string alphabet = "&-AaQ,+/0 \x80";
  std::vector<std::string> inputs{""};
  for (size_t from = 0, len = 0; len < 5; ++len) {  // every string of up to 5 characters
    size_t to = inputs.size();
    for (size_t k = from; k < to; ++k)
      for (char c : alphabet) inputs.push_back(inputs[k] + c);
    from = to;
  }
  size_t ok = 0;
  for (const auto& s : inputs) {
    auto d = mutf7_decode(s);
    if (!d) continue;
    ++ok;
    EXPECT_EQ(enc(*d), s);
  }
  EXPECT_GT(ok, 10u);
}
