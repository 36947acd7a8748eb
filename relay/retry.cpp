// relay/retry.cpp — see retry.h.
#include "relay/retry.h"

#include <algorithm>

namespace ringmta::relay {

bool notify_wants(uint8_t notify, Notice notice) {
  if (notify & queue::kNotifyNever) return false;
  switch (notice) {
    case Notice::None: return false;
    // RFC 3461 §4.1: without NOTIFY, behave as if FAILURE,DELAY was given.
    case Notice::Failed: return notify == 0 || (notify & queue::kNotifyFailure);
    case Notice::Delayed: return notify == 0 || (notify & queue::kNotifyDelay);
    case Notice::Relayed:
    case Notice::Delivered: return (notify & queue::kNotifySuccess) != 0;
  }
  return false;
}

std::chrono::seconds retry_delay(const RetryPolicy& policy, uint32_t attempts) {
  if (policy.schedule.empty()) return std::chrono::minutes(5);
  size_t i = std::min<size_t>(std::max<uint32_t>(attempts, 1) - 1, policy.schedule.size() - 1);
  return policy.schedule[i];
}

Decision decide(const RetryPolicy& policy, const queue::Recipient& r, const AttemptFacts& f) {
  Decision d;
  auto notice_if = [&](Notice n) { return !f.null_sender && notify_wants(r.notify, n) ? n : Notice::None; };
  switch (f.outcome) {
    case AttemptOutcome::Accepted:
      d.state = queue::RecipientState::Delivered;
      d.notice = f.final_delivery ? notice_if(Notice::Delivered)
                 : f.relayed      ? notice_if(Notice::Relayed)
                                  : Notice::None;
      return d;
    case AttemptOutcome::PermFail:
      d.state = queue::RecipientState::Failed;
      d.notice = notice_if(Notice::Failed);
      return d;
    case AttemptOutcome::TempFail:
      break;
  }
  const int64_t expiry_ms =
      f.arrival_ms + std::chrono::duration_cast<std::chrono::milliseconds>(policy.max_lifetime).count();
  if (f.now_ms >= expiry_ms) {
    d.state = queue::RecipientState::Failed;
    d.expired = true;
    d.notice = notice_if(Notice::Failed);
    return d;
  }
  const int64_t delay_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(retry_delay(policy, r.attempts)).count();
  const double j = std::clamp(f.jitter, -1.0, 1.0) * 0.1;
  int64_t next = f.now_ms + std::max<int64_t>(1000, static_cast<int64_t>(static_cast<double>(delay_ms) * (1.0 + j)));
  d.state = queue::RecipientState::Pending;
  d.next_attempt_ms = std::min(next, expiry_ms);
  const int64_t warn_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(policy.delay_warning).count();
  if (warn_ms > 0 && !r.delay_warned && f.now_ms - f.arrival_ms >= warn_ms) d.notice = notice_if(Notice::Delayed);
  return d;
}

}  // namespace ringmta::relay
