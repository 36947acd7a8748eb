// tests/unit/proto/imap/search_text_test.cpp — the text work behind SEARCH,
// SORT and THREAD (search_text.h): RFC 2047 words, transfer encodings,
// charsets, case folding, RFC 5322 dates and message-id lists.
#include <gtest/gtest.h>

#include <cstdint>

#include "proto/imap/search_text.h"

namespace ringmta::imap {
namespace {

TEST(SearchText, EncodedWords) {
  EXPECT_EQ(decode_header_text("=?UTF-8?B?SsO8cmdlbg==?= Smith"), "Jürgen Smith");
  EXPECT_EQ(decode_header_text("=?iso-8859-1?q?caf=E9_au_lait?="), "café au lait");
  EXPECT_EQ(decode_header_text("=?US-ASCII?Q?a?=  \r\n =?US-ASCII?Q?b?="), "ab");  // RFC 2047 §8
  EXPECT_EQ(decode_header_text("=?US-ASCII?Q?a?= b =?US-ASCII?Q?c?="), "a b c");
  EXPECT_EQ(decode_header_text("=?utf-8*en?Q?hi?="), "hi");  // RFC 2231 language
  EXPECT_EQ(decode_header_text("=?koi8-r?B?8NLJ18XU?="), "=?koi8-r?B?8NLJ18XU?=");  // unknown: left
  EXPECT_EQ(decode_header_text("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
  EXPECT_EQ(decode_header_text("=?utf-8?Q?a b?="), "=?utf-8?Q?a b?=");  // no spaces inside a word
  EXPECT_EQ(decode_header_text("=?utf-8?Q?unterminated"), "=?utf-8?Q?unterminated");
  EXPECT_EQ(decode_header_text("a\r\n\tb"), "a b");
  EXPECT_EQ(decode_header_text("=?"), "=?");
}

TEST(SearchText, TransferEncodings) {
  EXPECT_EQ(decode_transfer_encoding("aGVs\r\nbG8=\r\n", "base64"), "hello");
  EXPECT_EQ(decode_transfer_encoding("aGVs!!bG8", "BASE64"), "hello");  // junk skipped
  EXPECT_EQ(decode_transfer_encoding("a=3Db=\r\nc= \r\nd", "quoted-printable"), "a=bcd");
  EXPECT_EQ(decode_transfer_encoding("x=ZZ=4", "quoted-printable"), "x=ZZ=4");
  EXPECT_EQ(decode_transfer_encoding("=", "quoted-printable"), "=");
  EXPECT_EQ(decode_transfer_encoding("as is=41", "8bit"), "as is=41");
  EXPECT_EQ(charset_to_utf8("\xe9t\xe9", "ISO-8859-1"), "été");
  EXPECT_EQ(charset_to_utf8("\xe9t\xe9", "x-unknown"), "\xe9t\xe9");
}

TEST(SearchText, ContainsBytes) {
  const std::string hay = std::string(100000, 'a') + "b" + std::string(50, 'a');
  EXPECT_TRUE(contains_bytes(hay, std::string(40, 'a') + "b"));    // long needle
  EXPECT_FALSE(contains_bytes(hay, std::string(40, 'a') + "c"));
  EXPECT_TRUE(contains_bytes(hay, "ab"));
  EXPECT_TRUE(contains_bytes(hay, ""));
  EXPECT_FALSE(contains_bytes("short", std::string(40, 's')));
  // Pathological headers decode in linear time and come back unchanged.
  std::string opens;
  for (int i = 0; i < 100000; ++i) opens += "=?";
  EXPECT_EQ(decode_header_text(opens), opens);
}

TEST(SearchText, Folding) {
  EXPECT_EQ(fold_case("HeLLo ÀÉÎÕÜ ÆØ Ÿ ĀĞŁŽ ΑΣΩ ДЖЯ ЁЂ ×ß"), "hello àéîõü æø ÿ āğłž ασω джя ёђ ×ß");
  EXPECT_EQ(fold_case(std::string("bad\xff\xc3utf8")), std::string("bad\xff\xc3utf8"));
}

TEST(SearchText, Dates) {
  auto d = parse_sent_date("Mon, 7 Dec 2026 23:30:00 -0800");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->year, 2026);
  EXPECT_EQ(d->month, 12);
  EXPECT_EQ(d->day, 7);
  EXPECT_EQ(d->utc_seconds, 1796601600 + 86400 + 7 * 3600 + 30 * 60);
  d = parse_sent_date("  7 dec 26 23:30 EST (comment)");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->year, 2026);
  EXPECT_EQ(d->utc_seconds, 1796601600 + 86400 + 4 * 3600 + 30 * 60);
  d = parse_sent_date("(c) Tue , 01 Jan 99 00:00:00 GMT");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->year, 1999);
  EXPECT_EQ(d->utc_seconds, 915148800);
  d = parse_sent_date("1 Jan 1970");  // no time
  ASSERT_TRUE(d);
  EXPECT_EQ(d->utc_seconds, 0);
  EXPECT_FALSE(parse_sent_date(""));
  EXPECT_FALSE(parse_sent_date("yesterday"));
  EXPECT_FALSE(parse_sent_date("32 Jan 2020"));
  EXPECT_FALSE(parse_sent_date("1 Foo 2020"));
  EXPECT_EQ(days_from_civil(1970, 1, 1), 0);
  EXPECT_EQ(days_from_civil(2000, 3, 1), 11017);
  EXPECT_EQ(day_of_ms(-1), -1);
  EXPECT_EQ(day_of_ms(86400000), 1);
  EXPECT_EQ(day_of_ms(INT64_MIN), -106751991168);  // floor, without overflow
}

TEST(SearchText, MessageIds) {
  EXPECT_EQ(parse_msg_ids("<a@b> <c@d>\r\n\t<e\r\n @f>", 10), (std::vector<std::string>{"a@b", "c@d", "e@f"}));
  EXPECT_EQ(parse_msg_ids("junk <x <y@z> (c) <>", 10), (std::vector<std::string>{"y@z"}));
  EXPECT_EQ(parse_msg_ids("<1> <2> <3>", 2), (std::vector<std::string>{"2", "3"}));
  EXPECT_TRUE(parse_msg_ids("no ids <here", 10).empty());
}

}  // namespace
}  // namespace ringmta::imap
