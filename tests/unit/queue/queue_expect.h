// tests/unit/queue/queue_expect.h — GoogleTest comparisons of queue records,
// field by field (so a failure names the field), shared by the queue tests.
#pragma once

#include <gtest/gtest.h>

#include "queue/queue.h"

namespace ringmta::queue::testing {

inline void expect_same_recipient(const Recipient& a, const Recipient& b) {
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.orcpt, b.orcpt);
  EXPECT_EQ(a.notify, b.notify);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.next_attempt_ms, b.next_attempt_ms);
  EXPECT_EQ(a.last_attempt_ms, b.last_attempt_ms);
  EXPECT_EQ(a.last_reply, b.last_reply);
  EXPECT_EQ(a.remote_mta, b.remote_mta);
  EXPECT_EQ(a.delay_warned, b.delay_warned);
}

// Everything the envelope header record holds (not id, not recipients).
inline void expect_same_header(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.sender, b.sender);
  EXPECT_EQ(a.envid, b.envid);
  EXPECT_EQ(a.ret, b.ret);
  EXPECT_EQ(a.body_type, b.body_type);
  EXPECT_EQ(a.smtputf8, b.smtputf8);
  EXPECT_EQ(a.helo, b.helo);
  EXPECT_EQ(a.client_address, b.client_address);
  EXPECT_EQ(a.auth_identity, b.auth_identity);
  EXPECT_EQ(a.arrival_ms, b.arrival_ms);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.flags, b.flags);
}

inline void expect_same_envelope(const Envelope& a, const Envelope& b) {
  EXPECT_EQ(a.id, b.id);
  expect_same_header(a, b);
  ASSERT_EQ(a.recipients.size(), b.recipients.size());
  for (size_t i = 0; i < a.recipients.size(); ++i) expect_same_recipient(a.recipients[i], b.recipients[i]);
}

}  // namespace ringmta::queue::testing
