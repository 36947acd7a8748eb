// tests/fuzz/queue_codec_fuzz.cpp — libFuzzer target for the queue's record
// codec (queue/codec.cpp): decoding arbitrary bytes must return Ok or
// Corruption and never crash; whatever decodes must re-encode to a stable form.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "queue/codec.h"

using namespace ringmta::queue;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  Envelope env;
  uint32_t count = 0;
  Status s = codec::decode_envelope_header(in, env, count);
  if (!s.ok() && s.code != Status::Code::Corruption) abort();
  if (s.ok()) {
    env.recipients.resize(count);
    std::string once = codec::encode_envelope_header(env);
    Envelope again;
    uint32_t count2 = 0;
    if (!codec::decode_envelope_header(once, again, count2).ok() || count2 != count) abort();
    again.recipients.resize(count2);
    if (codec::encode_envelope_header(again) != once) abort();
  }

  Recipient r;
  s = codec::decode_recipient(in, r);
  if (!s.ok() && s.code != Status::Code::Corruption) abort();
  if (s.ok()) {
    std::string once = codec::encode_recipient(r);
    Recipient again;
    if (!codec::decode_recipient(once, again).ok() || codec::encode_recipient(again) != once) abort();
  }

  int64_t due = 0;
  std::string id;
  if (codec::parse_schedule_key(in, due, id) && codec::schedule_key(due, id) != in) abort();
  return 0;
}
