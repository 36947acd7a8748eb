// bench/util.h — small helpers shared by `ringmta-bench send` and `sink`:
// clocks, JSON string escaping, a fast PRNG, number formatting.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringmta::bench {

// Monotonic nanoseconds (steady_clock is a vDSO call: cheap enough per message).
inline int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t unix_ms();


// "12,345,678" — figures people read at a glance.
std::string group_digits(uint64_t n);

// xorshift64*: per-shard, no locks; good enough to pick injected failures.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed ? seed : 0x9e3779b97f4a7c15ULL) {}
  uint64_t next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545f4914f6cdd1dULL;
  }
  // True with probability pct/100.
  bool chance(double pct) {
    if (pct <= 0) return false;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 * 100.0 < pct;
  }

 private:
  uint64_t s_;
};

}  // namespace ringmta::bench
