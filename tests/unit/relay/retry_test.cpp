// tests/unit/relay/retry_test.cpp — the retry/expiry/notice rules of retry.h.
#include <gtest/gtest.h>

#include "relay/retry.h"

namespace ringmta::relay {
namespace {

using namespace std::chrono_literals;

RetryPolicy policy() {
  RetryPolicy p;
  p.schedule = {60s, 600s, 3600s};
  p.max_lifetime = 48h;
  p.delay_warning = 4h;
  return p;
}

constexpr int64_t kArrival = 1'700'000'000'000;

AttemptFacts facts(AttemptOutcome o, int64_t since_arrival_ms) {
  AttemptFacts f;
  f.outcome = o;
  f.arrival_ms = kArrival;
  f.now_ms = kArrival + since_arrival_ms;
  return f;
}

queue::Recipient rcpt(uint32_t attempts, uint8_t notify = 0) {
  queue::Recipient r;
  r.address = "a@example.org";
  r.attempts = attempts;
  r.notify = notify;
  return r;
}

TEST(Retry, ScheduleStepsAndLastEntryRepeats) {
  auto p = policy();
  EXPECT_EQ(retry_delay(p, 1), 60s);
  EXPECT_EQ(retry_delay(p, 2), 600s);
  EXPECT_EQ(retry_delay(p, 3), 3600s);
  EXPECT_EQ(retry_delay(p, 50), 3600s);
  Decision d = decide(p, rcpt(2), facts(AttemptOutcome::TempFail, 1000));
  EXPECT_EQ(d.state, queue::RecipientState::Pending);
  EXPECT_EQ(d.next_attempt_ms, kArrival + 1000 + 600'000);
  EXPECT_EQ(d.notice, Notice::None);
}

TEST(Retry, JitterIsTenPercentAtMost) {
  auto p = policy();
  auto f = facts(AttemptOutcome::TempFail, 0);
  f.jitter = 1.0;
  EXPECT_EQ(decide(p, rcpt(1), f).next_attempt_ms, kArrival + 66'000);
  f.jitter = -5.0;  // clamped
  EXPECT_EQ(decide(p, rcpt(1), f).next_attempt_ms, kArrival + 54'000);
}

TEST(Retry, NextAttemptNeverAfterExpiryAndExpiryFails) {
  auto p = policy();
  const int64_t life = 48 * 3600'000LL;
  Decision d = decide(p, rcpt(9), facts(AttemptOutcome::TempFail, life - 1000));
  EXPECT_EQ(d.state, queue::RecipientState::Pending);
  EXPECT_EQ(d.next_attempt_ms, kArrival + life);
  d = decide(p, rcpt(10), facts(AttemptOutcome::TempFail, life));
  EXPECT_EQ(d.state, queue::RecipientState::Failed);
  EXPECT_TRUE(d.expired);
  EXPECT_EQ(d.notice, Notice::Failed);
}

TEST(Retry, PermanentFailureBouncesUnlessNotifyExcludesIt) {
  auto p = policy();
  EXPECT_EQ(decide(p, rcpt(1), facts(AttemptOutcome::PermFail, 0)).notice, Notice::Failed);
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifyNever), facts(AttemptOutcome::PermFail, 0)).notice, Notice::None);
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifyDelay), facts(AttemptOutcome::PermFail, 0)).notice, Notice::None);
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifyFailure | queue::kNotifySuccess), facts(AttemptOutcome::PermFail, 0)).notice,
            Notice::Failed);
  auto f = facts(AttemptOutcome::PermFail, 0);
  f.null_sender = true;
  Decision d = decide(p, rcpt(1), f);
  EXPECT_EQ(d.state, queue::RecipientState::Failed);
  EXPECT_EQ(d.notice, Notice::None);
}

TEST(Retry, DelayWarningOnceAfterThreshold) {
  auto p = policy();
  EXPECT_EQ(decide(p, rcpt(3), facts(AttemptOutcome::TempFail, 4 * 3600'000LL - 1)).notice, Notice::None);
  EXPECT_EQ(decide(p, rcpt(3), facts(AttemptOutcome::TempFail, 4 * 3600'000LL)).notice, Notice::Delayed);
  auto warned = rcpt(4);
  warned.delay_warned = true;
  EXPECT_EQ(decide(p, warned, facts(AttemptOutcome::TempFail, 5 * 3600'000LL)).notice, Notice::None);
  EXPECT_EQ(decide(p, rcpt(3, queue::kNotifyFailure), facts(AttemptOutcome::TempFail, 5 * 3600'000LL)).notice,
            Notice::None);
  p.delay_warning = 0s;  // off
  EXPECT_EQ(decide(p, rcpt(3), facts(AttemptOutcome::TempFail, 5 * 3600'000LL)).notice, Notice::None);
}

TEST(Retry, SuccessNoticeOnlyWhenRelayedAndAsked) {
  auto p = policy();
  auto f = facts(AttemptOutcome::Accepted, 0);
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifySuccess), f).notice, Notice::None);  // remote had DSN
  f.relayed = true;
  Decision d = decide(p, rcpt(1, queue::kNotifySuccess), f);
  EXPECT_EQ(d.state, queue::RecipientState::Delivered);
  EXPECT_EQ(d.notice, Notice::Relayed);
  EXPECT_EQ(decide(p, rcpt(1), f).notice, Notice::None);
}

TEST(Retry, DeliveredNoticeForLocalDeliveryWhenAsked) {
  auto p = policy();
  auto f = facts(AttemptOutcome::Accepted, 0);
  f.final_delivery = true;  // into a local mailbox
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifySuccess), f).notice, Notice::Delivered);
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifySuccess | queue::kNotifyFailure), f).notice, Notice::Delivered);
  EXPECT_EQ(decide(p, rcpt(1), f).notice, Notice::None);  // not asked
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifyNever), f).notice, Notice::None);
  f.null_sender = true;
  EXPECT_EQ(decide(p, rcpt(1, queue::kNotifySuccess), f).notice, Notice::None);
}

}  // namespace
}  // namespace ringmta::relay
