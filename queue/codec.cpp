// queue/codec.cpp — encoding of queue records and keys (format in codec.h).
//
// Decoding treats its input as hostile: every read is bounds-checked against
// what is left, lengths are checked before use, enums and bools are
// range-checked, and any problem is a Status::Corruption with a short reason.
#include "queue/codec.h"

#include <algorithm>

namespace ringmta::queue::codec {
namespace {

Status corruption(std::string what) { return {Status::Code::Corruption, "queue record: " + std::move(what)}; }

// --- writing ---

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

// Zig-zag keeps small negative times (e.g. -1 "unset") short.
void put_signed(std::string& out, int64_t v) {
  put_varint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_byte(std::string& out, uint8_t b) { out.push_back(static_cast<char>(b)); }

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// --- reading ---

// A cursor over untrusted bytes; the first failure sticks and later reads are no-ops.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool varint(uint64_t& v, const char* field) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1, field)) return false;
      uint8_t b = static_cast<uint8_t>(in_[pos_++]);
      // The 10th byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && b > 1) return fail(field, "varint overflow");
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return true;
    }
    return fail(field, "varint too long");
  }
  bool u32(uint32_t& v, const char* field) {
    uint64_t w;
    if (!varint(w, field)) return false;
    if (w > UINT32_MAX) return fail(field, "out of range");
    v = static_cast<uint32_t>(w);
    return true;
  }
  bool signed64(int64_t& v, const char* field) {
    uint64_t w;
    if (!varint(w, field)) return false;
    v = static_cast<int64_t>((w >> 1) ^ (~(w & 1) + 1));
    return true;
  }
  bool string(std::string& s, const char* field) {
    uint64_t n;
    if (!varint(n, field)) return false;
    if (n > in_.size() - pos_) return fail(field, "length past end");
    s.assign(in_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  // One byte that must be <= max (enums, bools).
  bool byte(uint8_t& b, uint8_t max, const char* field) {
    if (!need(1, field)) return false;
    b = static_cast<uint8_t>(in_[pos_++]);
    if (b > max) return fail(field, "value out of range");
    return true;
  }
  bool flag(bool& v, const char* field) {
    uint8_t b;
    if (!byte(b, 1, field)) return false;
    v = b != 0;
    return true;
  }
  bool at_end() const { return pos_ == in_.size(); }
  Status status() const { return error_.empty() ? Status::Ok() : corruption(error_); }
  Status finish() {
    if (error_.empty() && !at_end()) fail("record", "trailing bytes");
    return status();
  }

 private:
  bool need(size_t n, const char* field) {
    if (in_.size() - pos_ >= n) return true;
    return fail(field, "truncated");
  }
  bool fail(const char* field, const char* why) {
    if (error_.empty()) error_ = std::string(field) + ": " + why;
    pos_ = in_.size();
    return false;
  }

  std::string_view in_;
  size_t pos_ = 0;
  std::string error_;
};

// Version 0 is never written, so a zeroed record is caught here too.
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
  if (!r.byte(version, 0xff, "version")) return r.status();
  if (version != 1) return bad_version(version);
  uint8_t ret = 0, body_type = 0;
  r.string(out.sender, "sender");
  r.string(out.envid, "envid");
  r.byte(ret, static_cast<uint8_t>(Ret::Headers), "ret");
  r.byte(body_type, static_cast<uint8_t>(BodyType::BinaryMime), "body_type");
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
  if (!r.byte(version, 0xff, "version")) return r.status();
  if (version != 1) return bad_version(version);
  uint8_t state = 0;
  r.string(out.address, "address");
  r.string(out.orcpt, "orcpt");
  r.byte(out.notify, kNotifyNever | kNotifySuccess | kNotifyFailure | kNotifyDelay, "notify");
  r.byte(state, static_cast<uint8_t>(RecipientState::Failed), "state");
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
