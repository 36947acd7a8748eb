// base/clock.h — wall-clock time as the queue stores it: unix milliseconds
// (Envelope::arrival_ms, Recipient::next_attempt_ms, schedule keys).
#pragma once

#include <chrono>
#include <cstdint>

namespace ringmta::base {

inline int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace ringmta::base
