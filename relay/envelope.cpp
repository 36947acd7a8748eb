// relay/envelope.cpp — see envelope.h.
#include "relay/envelope.h"

namespace ringmta::relay {

queue::Envelope make_envelope(const smtp::Transaction& txn, int64_t arrival_ms) {
  queue::Envelope env;
  env.id = txn.queue_id;
  env.sender = txn.sender;
  env.envid = txn.envid;
  env.ret = static_cast<queue::Ret>(txn.ret);                // same values by design
  env.body_type = static_cast<queue::BodyType>(txn.body);    // same values by design
  env.smtputf8 = txn.smtputf8;
  env.helo = txn.helo;
  env.auth_identity = txn.auth_identity;
  env.arrival_ms = arrival_ms;
  env.size = txn.message.size();
  env.recipients.reserve(txn.recipients.size());
  for (const auto& r : txn.recipients) {
    queue::Recipient q;
    q.address = r.address;
    q.orcpt = r.orcpt;
    q.notify = r.notify;  // bit values match queue::NotifyBits
    q.next_attempt_ms = arrival_ms + kFreshLeaseMs;  // see kFreshLeaseMs
    env.recipients.push_back(std::move(q));
  }
  return env;
}

static_assert(static_cast<int>(smtp::Ret::Full) == static_cast<int>(queue::Ret::Full));
static_assert(static_cast<int>(smtp::Ret::Headers) == static_cast<int>(queue::Ret::Headers));
static_assert(static_cast<int>(smtp::BodyType::EightBitMime) == static_cast<int>(queue::BodyType::EightBitMime));
static_assert(static_cast<int>(smtp::BodyType::BinaryMime) == static_cast<int>(queue::BodyType::BinaryMime));
constexpr bool same_bit(int a, int b) { return a == b; }
static_assert(same_bit(smtp::kNotifyNever, queue::kNotifyNever) && same_bit(smtp::kNotifySuccess, queue::kNotifySuccess) &&
              same_bit(smtp::kNotifyFailure, queue::kNotifyFailure) && same_bit(smtp::kNotifyDelay, queue::kNotifyDelay));

}  // namespace ringmta::relay
