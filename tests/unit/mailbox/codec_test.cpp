// tests/unit/mailbox/codec_test.cpp — the store's keys and records: round
// trips, key order (what load_user's single scan relies on), and damaged
// records refused rather than misread.
#include <gtest/gtest.h>

#include "mailbox/codec.h"

namespace ringmta::mailbox::codec {
namespace {

Message sample_message() {
  Message m;
  m.uid = 77;
  m.flags = kSeen | kDraft;
  m.modseq = 1ull << 40;
  m.internal_date_ms = -1234567;  // before 1970: signed on disk
  m.size = 123456789;
  m.body_id = "0123456789ABCDEF";
  m.keywords = {"$Forwarded", "Work"};
  return m;
}

TEST(MailboxCodec, RecordsRoundTrip) {
  Message m = sample_message(), back;
  back.uid = 77;  // the key's part
  ASSERT_TRUE(decode_message(encode_message(m), back));
  EXPECT_EQ(back.flags, m.flags);
  EXPECT_EQ(back.modseq, m.modseq);
  EXPECT_EQ(back.internal_date_ms, m.internal_date_ms);
  EXPECT_EQ(back.size, m.size);
  EXPECT_EQ(back.body_id, m.body_id);
  EXPECT_EQ(back.keywords, m.keywords);
  EXPECT_EQ(back.uid, 77u);

  Mailbox mb;
  mb.name = "Lists/ietf";
  mb.uidvalidity = UINT32_MAX;
  mb.uidnext = 42;
  mb.highest_modseq = UINT64_MAX;
  mb.attributes = 5;
  Mailbox mb2;
  ASSERT_TRUE(decode_mailbox(encode_mailbox(mb), mb2));
  EXPECT_EQ(mb2.name, mb.name);
  EXPECT_EQ(mb2.uidvalidity, mb.uidvalidity);
  EXPECT_EQ(mb2.uidnext, mb.uidnext);
  EXPECT_EQ(mb2.highest_modseq, mb.highest_modseq);
  EXPECT_EQ(mb2.attributes, mb.attributes);

  Account a{3, 1800000000, {10, 1 << 30}}, a2;
  ASSERT_TRUE(decode_account(encode_account(a), a2));
  EXPECT_EQ(a2.next_mailbox_id, 3u);
  EXPECT_EQ(a2.last_uidvalidity, 1800000000u);
  EXPECT_EQ(a2.totals, a.totals);
}

TEST(MailboxCodec, DamagedRecordsAreRefused) {
  std::string good = encode_message(sample_message());
  Message m;
  for (size_t n = 0; n < good.size(); ++n) EXPECT_FALSE(decode_message(good.substr(0, n), m)) << n;  // truncated
  EXPECT_FALSE(decode_message(good + "x", m));                                                     // trailing
  std::string v2 = good;
  v2[0] = 2;
  EXPECT_FALSE(decode_message(v2, m));  // unknown version
  Message bad_flags = sample_message();
  bad_flags.flags = 0x40;
  EXPECT_FALSE(decode_message(encode_message(bad_flags), m));
  Message unsorted = sample_message();
  unsorted.keywords = {"b", "a"};
  EXPECT_FALSE(decode_message(encode_message(unsorted), m));
  Mailbox mb;
  mb.name = std::string("a\0b", 3);
  Mailbox out;
  EXPECT_FALSE(decode_mailbox(encode_mailbox(mb), out));
  Account a;
  EXPECT_FALSE(decode_account(std::string("\x01\xff\xff\xff\xff\x7f\x00\x00\x00", 9), a));  // id > 32 bits
  EXPECT_FALSE(decode_account("", a));
}

TEST(MailboxCodec, KeysSortAndParse) {
  // One user's range: mailboxes before messages, messages by mailbox then UID,
  // and no other user's keys inside ("ab" must not fall into "a"'s range).
  EXPECT_LT(mailbox_key("a", 9), message_key("a", 1, 1));
  EXPECT_LT(message_key("a", 1, 2), message_key("a", 1, 256));
  EXPECT_LT(message_key("a", 1, UINT32_MAX), message_key("a", 2, 0));
  EXPECT_LT(message_key("a", UINT32_MAX, UINT32_MAX), user_prefix_end("a"));
  EXPECT_GT(user_prefix("ab"), user_prefix_end("a"));
  const std::string p = user_prefix("a");
  auto k = parse_user_key(message_key("a", 3, 70000).substr(p.size()));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kind, UserKey::Kind::Message);
  EXPECT_EQ(k->mailbox_id, 3u);
  EXPECT_EQ(k->uid, 70000u);
  k = parse_user_key(mailbox_key("a", 5).substr(p.size()));
  ASSERT_TRUE(k);
  EXPECT_EQ(k->kind, UserKey::Kind::Mailbox);
  EXPECT_FALSE(parse_user_key("M123"));

  auto r = parse_ref_key(ref_key("BODY", "u@x", 2, 9));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body_id, "BODY");
  EXPECT_EQ(r->user, "u@x");
  EXPECT_EQ(r->mailbox_id, 2u);
  EXPECT_EQ(r->uid, 9u);
  EXPECT_TRUE(parse_ref_key(hint_key("BODY", "u@x", 2, 9)));
  EXPECT_TRUE(ref_key("BODY", "u", 1, 1).starts_with(ref_prefix("BODY")));
  EXPECT_FALSE(ref_key("BODY2", "u", 1, 1).starts_with(ref_prefix("BODY")));
  EXPECT_FALSE(parse_ref_key("R"));
  EXPECT_EQ(parse_account_key(account_key("u@x")), std::optional<std::string>("u@x"));
}

}  // namespace
}  // namespace ringmta::mailbox::codec
