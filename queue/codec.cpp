// queue/codec.cpp — encoding of queue records and keys (format in codec.h).
//
// Decoding treats its input as hostile: every read is bounds-checked against
// what is left, lengths are checked before use, enums and bools are
// range-checked, and any problem is a Status::Corruption with a short reason.
#include "queue/codec.h"

#include <algorithm>

#include "base/wire.h"

namespace ringmta::queue::codec {
namespace {

Status corruption(std::string what) { return {Status::Code::Corruption, "queue record: " + std::move(what)}; }

// --- writing ---

using base::wire::put_be;
using base::wire::put_byte;
using base::wire::put_signed;
using base::wire::put_string;
using base::wire::put_varint;

// base/wire.h's Reader, answering in the queue's Status.
class Reader : public base::wire::Reader {
 public:
  using base::wire::Reader::Reader;
  Status status() const { return ok() ? Status::Ok() : corruption(error()); }
  Status finish() {
    base::wire::Reader::finish();
    return status();
  }
};

Status bad_version(uint8_t v) {
  return corruption("unsupported format version " + std::to_string(v));
}

}  // namespace

std::string encode_envelope_header(const Envelope& env) {
  std::string out;
  out.reserve(64 + env.sender.size() + env.envid.size() + env.helo.size() + env.client_address.size() +
              env.auth_identity.size());
  put_byte(out, kFormatVersion);
  put_string(out, env.sender);
  put_string(out, env.envid);
  put_byte(out, static_cast<uint8_t>(env.ret));
  put_byte(out, static_cast<uint8_t>(env.body_type));
  put_byte(out, env.smtputf8 ? 1 : 0);
  put_string(out, env.helo);
  put_string(out, env.client_address);
  put_string(out, env.auth_identity);
  put_signed(out, env.arrival_ms);
  put_varint(out, env.size);
  put_varint(out, env.flags);
  put_varint(out, env.recipients.size());
  return out;
}

Status decode_envelope_header(std::string_view in, Envelope& out, uint32_t& recipient_count) {
  Reader r(in);
  uint8_t version = 0;
  if (!r.byte(version, "version", 0xff)) return r.status();
  if (version != 1) return bad_version(version);
  uint8_t ret = 0, body_type = 0;
  r.string(out.sender, "sender");
  r.string(out.envid, "envid");
  r.byte(ret, "ret", static_cast<uint8_t>(Ret::Headers));
  r.byte(body_type, "body_type", static_cast<uint8_t>(BodyType::BinaryMime));
  r.flag(out.smtputf8, "smtputf8");
  r.string(out.helo, "helo");
  r.string(out.client_address, "client_address");
  r.string(out.auth_identity, "auth_identity");
  r.signed64(out.arrival_ms, "arrival_ms");
  r.varint(out.size, "size");
  r.u32(out.flags, "flags");
  r.u32(recipient_count, "recipient_count");
  if (Status s = r.finish(); !s.ok()) return s;
  if (recipient_count > kMaxRecipients) return corruption("recipient_count: too large");
  out.ret = static_cast<Ret>(ret);
  out.body_type = static_cast<BodyType>(body_type);
  return Status::Ok();
}

std::string encode_recipient(const Recipient& rcpt) {
  std::string out;
  out.reserve(32 + rcpt.address.size() + rcpt.orcpt.size() + rcpt.last_reply.size() + rcpt.remote_mta.size());
  put_byte(out, kFormatVersion);
  put_string(out, rcpt.address);
  put_string(out, rcpt.orcpt);
  put_byte(out, rcpt.notify);
  put_byte(out, static_cast<uint8_t>(rcpt.state));
  put_varint(out, rcpt.attempts);
  put_signed(out, rcpt.next_attempt_ms);
  put_signed(out, rcpt.last_attempt_ms);
  put_string(out, rcpt.last_reply);
  put_string(out, rcpt.remote_mta);
  put_byte(out, rcpt.delay_warned ? 1 : 0);
  return out;
}

Status decode_recipient(std::string_view in, Recipient& out) {
  Reader r(in);
  uint8_t version = 0;
  if (!r.byte(version, "version", 0xff)) return r.status();
  if (version != 1) return bad_version(version);
  uint8_t state = 0;
  r.string(out.address, "address");
  r.string(out.orcpt, "orcpt");
  r.byte(out.notify, "notify", kNotifyNever | kNotifySuccess | kNotifyFailure | kNotifyDelay);
  r.byte(state, "state", static_cast<uint8_t>(RecipientState::Failed));
  r.u32(out.attempts, "attempts");
  r.signed64(out.next_attempt_ms, "next_attempt_ms");
  r.signed64(out.last_attempt_ms, "last_attempt_ms");
  r.string(out.last_reply, "last_reply");
  r.string(out.remote_mta, "remote_mta");
  r.flag(out.delay_warned, "delay_warned");
  if (Status s = r.finish(); !s.ok()) return s;
  out.state = static_cast<RecipientState>(state);
  return Status::Ok();
}

Status validate_id(std::string_view id) {
  if (id.empty() || id.size() > 255 || id.find('\0') != std::string_view::npos)
    return {Status::Code::InvalidArgument, "queue id must be 1..255 bytes without NUL"};
  return Status::Ok();
}

std::string envelope_key(std::string_view id) {
  std::string k(1, kEnvelopePrefix);
  return k.append(id);
}

std::string body_key(std::string_view id) {
  std::string k(1, kBodyPrefix);
  return k.append(id);
}

std::string recipient_prefix(std::string_view id) {
  std::string k(id);
  k.push_back('\0');
  return k;
}

std::string recipient_key(std::string_view id, uint32_t index) {
  std::string k = recipient_prefix(id);
  put_be(k, index, 4);
  return k;
}

std::string schedule_bound(int64_t due_ms) {
  std::string k;
  put_be(k, static_cast<uint64_t>(std::max<int64_t>(due_ms, 0)), 8);
  return k;
}

std::string schedule_key(int64_t due_ms, std::string_view id) { return schedule_bound(due_ms).append(id); }

bool parse_schedule_key(std::string_view key, int64_t& due_ms, std::string& id) {
  if (key.size() <= 8) return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(key[i]);
  if (v > static_cast<uint64_t>(INT64_MAX)) return false;
  due_ms = static_cast<int64_t>(v);
  id.assign(key.substr(8));
  return true;
}

std::optional<int64_t> schedule_due_ms(const Envelope& env) {
  std::optional<int64_t> due;
  if (env.flags & kFlagHeld) return due;
  for (const Recipient& r : env.recipients) {
    if (r.state != RecipientState::Pending) continue;
    int64_t t = std::max<int64_t>(r.next_attempt_ms, 0);
    if (!due || t < *due) due = t;
  }
  return due;
}

}  // namespace ringmta::queue::codec
