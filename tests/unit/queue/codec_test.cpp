// tests/unit/queue/codec_test.cpp — the record codec, key layout and queue IDs.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "queue/codec.h"
#include "queue/queue_id.h"
#include "queue_expect.h"
#include "queue_test_util.h"

namespace ringmta::queue {
namespace {

using testing::expect_same_header;
using testing::expect_same_recipient;
using testing::sample_envelope;

TEST(Codec, EnvelopeHeaderRoundTrip) {
  Envelope e = sample_envelope("ID1", 3);
  e.sender = "";  // null sender
  e.helo = std::string("bin\0ary\xff", 8);
  e.arrival_ms = INT64_MIN;
  e.size = UINT64_MAX;
  e.flags = UINT32_MAX;
  std::string bytes = codec::encode_envelope_header(e);
  EXPECT_EQ(bytes[0], 1) << "leading format version byte";
  Envelope d;
  uint32_t count = 0;
  ASSERT_TRUE(codec::decode_envelope_header(bytes, d, count).ok());
  expect_same_header(e, d);
  EXPECT_EQ(count, 3u);
}

TEST(Codec, RecipientRoundTrip) {
  for (const Recipient& r : sample_envelope("X", 2).recipients) {
    Recipient d;
    ASSERT_TRUE(codec::decode_recipient(codec::encode_recipient(r), d).ok());
    expect_same_recipient(r, d);
  }
  Recipient extreme;
  extreme.state = RecipientState::Failed;
  extreme.attempts = UINT32_MAX;
  extreme.next_attempt_ms = INT64_MAX;
  extreme.last_attempt_ms = INT64_MIN;
  extreme.last_reply = std::string(100000, 'x');
  Recipient d;
  ASSERT_TRUE(codec::decode_recipient(codec::encode_recipient(extreme), d).ok());
  expect_same_recipient(extreme, d);
}

TEST(Codec, EveryTruncationIsCorruption) {
  std::string h = codec::encode_envelope_header(sample_envelope("ID", 2));
  std::string r = codec::encode_recipient(sample_envelope("ID", 1).recipients[0]);
  for (size_t n = 0; n < h.size(); ++n) {
    Envelope e;
    uint32_t c;
    EXPECT_EQ(codec::decode_envelope_header(std::string_view(h).substr(0, n), e, c).code, Status::Code::Corruption)
        << n;
  }
  for (size_t n = 0; n < r.size(); ++n) {
    Recipient x;
    EXPECT_EQ(codec::decode_recipient(std::string_view(r).substr(0, n), x).code, Status::Code::Corruption) << n;
  }
}

TEST(Codec, BadVersionTrailingBytesAndRangesAreCorruption) {
  std::string h = codec::encode_envelope_header(sample_envelope("ID", 1));
  Envelope e;
  uint32_t c;
  for (char v : {'\0', '\2', '\xff'}) {
    std::string bad = h;
    bad[0] = v;
    Status s = codec::decode_envelope_header(bad, e, c);
    EXPECT_EQ(s.code, Status::Code::Corruption);
    EXPECT_NE(s.message.find("version"), std::string::npos) << s.message;
  }
  EXPECT_EQ(codec::decode_envelope_header(h + "x", e, c).code, Status::Code::Corruption);

  Recipient r;
  r.state = RecipientState::Delivered;
  std::string rb = codec::encode_recipient(r);
  // Layout: version, "" address, "" orcpt, notify, state...
  ASSERT_EQ(rb[4], 1);
  rb[4] = 7;  // no such state
  EXPECT_EQ(codec::decode_recipient(rb, r).code, Status::Code::Corruption);
  // A string length far past the end.
  std::string huge = "\x01\xff\xff\xff\xff\x0f";
  EXPECT_EQ(codec::decode_recipient(huge, r).code, Status::Code::Corruption);
  // An over-long varint.
  std::string longv = std::string("\x01") + std::string(12, '\x80');
  EXPECT_EQ(codec::decode_recipient(longv, r).code, Status::Code::Corruption);
}

TEST(Codec, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  std::string h = codec::encode_envelope_header(sample_envelope("ID", 2));
  for (int i = 0; i < 20000; ++i) {
    std::string in = h;
    // Flip a few bytes of a valid record, or use pure noise.
    if (i % 2) {
      for (int k = 0; k < 3; ++k) in[rng() % in.size()] = static_cast<char>(rng());
    } else {
      in.resize(rng() % 64);
      for (char& ch : in) ch = static_cast<char>(rng());
    }
    Envelope e;
    uint32_t c;
    Recipient r;
    Status s1 = codec::decode_envelope_header(in, e, c);
    Status s2 = codec::decode_recipient(in, r);
    EXPECT_TRUE(s1.ok() || s1.code == Status::Code::Corruption);
    EXPECT_TRUE(s2.ok() || s2.code == Status::Code::Corruption);
  }
}

TEST(Keys, ScheduleKeysSortByTimeThenId) {
  std::string a = codec::schedule_key(5, "B"), b = codec::schedule_key(256, "A"), c = codec::schedule_key(256, "B");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(codec::schedule_key(-10, "A"), codec::schedule_key(0, "A")) << "negative times clamp to 0";
  int64_t t;
  std::string id;
  ASSERT_TRUE(codec::parse_schedule_key(codec::schedule_key(1'700'000'000'000, "QID"), t, id));
  EXPECT_EQ(t, 1'700'000'000'000);
  EXPECT_EQ(id, "QID");
  EXPECT_FALSE(codec::parse_schedule_key("short", t, id));
}

TEST(Keys, RecipientKeysOfOneIdAreContiguous) {
  // "ABC"'s records must sort together and before "ABCD"'s.
  EXPECT_LT(codec::recipient_key("ABC", 0xffffffff), codec::recipient_key("ABCD", 0));
  EXPECT_LT(codec::recipient_key("ABC", 1), codec::recipient_key("ABC", 256));
  EXPECT_FALSE(codec::validate_id("").ok());
  EXPECT_FALSE(codec::validate_id(std::string("A\0B", 3)).ok());
  EXPECT_FALSE(codec::validate_id(std::string(256, 'A')).ok());
  EXPECT_TRUE(codec::validate_id("0123456789ABCDEF").ok());
}

TEST(Keys, ScheduleDueIsEarliestPendingRecipient) {
  Envelope e = sample_envelope("ID", 3, 500);  // due 500, 501, 502
  EXPECT_EQ(codec::schedule_due_ms(e), 500);
  e.recipients[0].state = RecipientState::Delivered;
  EXPECT_EQ(codec::schedule_due_ms(e), 501);
  e.recipients[1].state = RecipientState::Failed;
  e.recipients[2].state = RecipientState::Failed;
  EXPECT_FALSE(codec::schedule_due_ms(e).has_value());
}

TEST(Keys, HeldMessageHasNoScheduleEntry) {
  Envelope e = sample_envelope("ID", 2, 500);
  e.flags = kFlagHeld | kFlagBounce;
  EXPECT_FALSE(codec::schedule_due_ms(e).has_value());
  e.flags = kFlagBounce;
  EXPECT_EQ(codec::schedule_due_ms(e), 500);
}

TEST(QueueId, FormatAndOrder) {
  QueueIdGenerator g(3);
  std::string prev;
  for (uint64_t ms = 1'700'000'000'000; ms < 1'700'000'000'050; ++ms) {
    for (int i = 0; i < 3; ++i) {
      std::string id = g.next_at(ms);
      ASSERT_EQ(id.size(), 16u);
      EXPECT_EQ(id.find_first_not_of("0123456789ABCDEFGHJKMNPQRSTVWXYZ"), std::string::npos) << id;
      EXPECT_LT(prev, id);
      EXPECT_EQ(queue_id_time_ms(id), ms);
      prev = id;
    }
  }
  std::string real = g.next();
  EXPECT_LT(prev, real);
  EXPECT_FALSE(queue_id_time_ms("0123456789ABCDEI").has_value());
}

TEST(QueueId, ShardsNeverCollide) {
  std::set<std::string> seen;
  for (unsigned shard = 0; shard < 64; ++shard) {
    QueueIdGenerator g(shard);
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(seen.insert(g.next_at(1'700'000'000'000)).second);
  }
}

TEST(QueueId, ShardIsReadBack) {
  for (unsigned shard : {0u, 1u, 7u, 4095u, 4096u + 5}) {
    QueueIdGenerator g(shard);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(queue_id_shard(g.next_at(1'700'000'000'000)), shard % 4096);
  }
  EXPECT_FALSE(queue_id_shard("short").has_value());
}

TEST(QueueId, ClockBackwardsAndSequenceOverflowStayMonotonic) {
  QueueIdGenerator g(1);
  std::string a = g.next_at(2'000'000);
  std::string b = g.next_at(1'000'000);  // clock stepped back
  EXPECT_LT(a, b);
  EXPECT_EQ(queue_id_time_ms(b), 2'000'000u);
  // Use up the rest of the ms's sequence numbers: the generator borrows the next ms.
  std::string last;
  for (uint32_t i = 0; i < (1u << QueueIdGenerator::kSeqBits); ++i) last = g.next_at(2'000'000);
  EXPECT_EQ(queue_id_time_ms(last), 2'000'001u);
  EXPECT_LT(b, last);
  // A floor from a previous run (its newest id) pushes ids past it.
  QueueIdGenerator restarted(1, 5'000'000);
  EXPECT_EQ(queue_id_time_ms(restarted.next_at(4'000'000)), 5'000'001u);
}

}  // namespace
}  // namespace ringmta::queue
