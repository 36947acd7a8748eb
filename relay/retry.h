// relay/retry.h — what becomes of a recipient after a delivery attempt: the
// pure policy part of the scheduler (no clock, no randomness, no I/O), so
// every rule is unit-tested on plain values.
//
// Rules (Postfix's qmgr and RFC 3461/3464 where they speak):
//  - accepted -> Delivered; a "relayed" notice when the remote lacked DSN
//    and NOTIFY had SUCCESS;
//  - permanent failure -> Failed, bounce unless NOTIFY excludes FAILURE;
//  - temporary failure -> Failed (expired) once the message is older than
//    queue.max_lifetime, else stays Pending with next attempt after
//    retry_schedule[attempts-1] (last entry repeats), +-10% jitter, never
//    later than the expiry time (so the last try happens at expiry);
//    a delay notice once, when the message is older than delay_warning and
//    NOTIFY allows DELAY;
//  - nothing is ever reported to the null sender.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "queue/queue.h"

namespace ringmta::relay {

enum class Notice : uint8_t { None, Failed, Delayed, Relayed, Delivered };

struct RetryPolicy {
  std::vector<std::chrono::seconds> schedule;
  std::chrono::seconds max_lifetime{48 * 3600};
  std::chrono::seconds delay_warning{4 * 3600};  // 0 = never
};

enum class AttemptOutcome : uint8_t { Accepted, TempFail, PermFail };

struct AttemptFacts {
  AttemptOutcome outcome = AttemptOutcome::TempFail;
  bool relayed = false;     // accepted by a remote without DSN, NOTIFY had SUCCESS
  bool final_delivery = false;  // delivered here (a local mailbox): NOTIFY=SUCCESS gets "delivered"
  int64_t now_ms = 0;
  int64_t arrival_ms = 0;
  bool null_sender = false;
  double jitter = 0;        // in [-1, 1]: scales the +-10% jitter
};

struct Decision {
  queue::RecipientState state = queue::RecipientState::Pending;
  int64_t next_attempt_ms = 0;  // Pending only
  bool expired = false;         // Failed because the lifetime ran out
  Notice notice = Notice::None;
};

// The recipient's attempts counter must already count this attempt.
Decision decide(const RetryPolicy& policy, const queue::Recipient& recipient, const AttemptFacts& facts);

// Whether NOTIFY asks for this kind of notice (0 = not given = FAILURE,DELAY).
bool notify_wants(uint8_t notify, Notice notice);

// Delay before retry number `attempts` (1-based), before jitter.
std::chrono::seconds retry_delay(const RetryPolicy& policy, uint32_t attempts);

}  // namespace ringmta::relay
