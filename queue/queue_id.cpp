// queue/queue_id.cpp — queue ID generation (layout in queue_id.h).
#include "queue/queue_id.h"

#include <chrono>

namespace ringmta::queue {
namespace {

// Crockford base32: digits and letters without I, L, O, U; ascending ASCII,
// so fixed-width strings sort like the numbers they encode.
constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr uint64_t kMaxMs = (uint64_t{1} << 48) - 1;
constexpr uint32_t kMaxSeq = (uint32_t{1} << QueueIdGenerator::kSeqBits) - 1;

int digit_value(char c) {
  for (int i = 0; i < 32; ++i)
    if (kAlphabet[i] == c) return i;
  return -1;
}

}  // namespace

QueueIdGenerator::QueueIdGenerator(unsigned shard) : shard_(shard % (1u << kShardBits)) {}

QueueIdGenerator::QueueIdGenerator(unsigned shard, uint64_t floor_ms) : QueueIdGenerator(shard) {
  last_ms_ = floor_ms;
  seq_ = kMaxSeq;  // so the next id moves past floor_ms
}

std::string QueueIdGenerator::next() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return next_at(static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now).count()));
}

std::string QueueIdGenerator::next_at(uint64_t now_ms) {
  if (now_ms > last_ms_) {
    last_ms_ = now_ms;
    seq_ = 0;
  } else if (seq_ < kMaxSeq) {
    ++seq_;  // same ms, or the clock went back: keep counting on the last ms
  } else {
    ++last_ms_;  // sequence exhausted: borrow the next ms
    seq_ = 0;
  }
  // 80 bits as a 16-bit high part and a 64-bit low part.
  uint64_t ms = last_ms_ & kMaxMs;
  uint64_t low = (ms << (kShardBits + kSeqBits)) | (uint64_t{shard_} << kSeqBits) | seq_;
  uint64_t high = ms >> (64 - kShardBits - kSeqBits);
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kAlphabet[low & 31];
    low = (low >> 5) | ((high & 31) << 59);
    high >>= 5;
  }
  return out;
}

std::optional<uint64_t> queue_id_time_ms(std::string_view id) {
  if (id.size() != 16) return std::nullopt;
  // The first 48 bits are the first 9.6 characters: decode 10 (50 bits), drop 2.
  uint64_t v = 0;
  for (char c : id) {
    if (digit_value(c) < 0) return std::nullopt;
  }
  for (int i = 0; i < 10; ++i) v = (v << 5) | static_cast<uint64_t>(digit_value(id[i]));
  return v >> 2;
}

std::optional<unsigned> queue_id_shard(std::string_view id) {
  if (!queue_id_time_ms(id)) return std::nullopt;
  // The low 32 bits are shard (12) and sequence (20): the last 7 characters
  // hold the low 35 bits.
  uint64_t v = 0;
  for (size_t i = id.size() - 7; i < id.size(); ++i) v = (v << 5) | static_cast<uint64_t>(digit_value(id[i]));
  return static_cast<unsigned>((v >> QueueIdGenerator::kSeqBits) & ((1u << QueueIdGenerator::kShardBits) - 1));
}

}  // namespace ringmta::queue
