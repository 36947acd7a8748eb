// mailbox/codec.cpp — encoding of the mail store's keys and records (see codec.h).
// Decoders check every length against the bytes left before reading, so any
// input is safe; they allocate at most what the input's lengths claim, each
// bounded by the input size.
#include "mailbox/codec.h"

#include <algorithm>

#include "base/wire.h"

namespace ringmta::mailbox::codec {
namespace {

using base::wire::put_signed;
using base::wire::put_string;
using base::wire::put_varint;
using Reader = base::wire::Reader;

void put_be32(std::string& out, uint32_t v) { base::wire::put_be(out, v, 4); }
uint32_t get_be32(std::string_view s) { return static_cast<uint32_t>(base::wire::get_be(s, 4)); }

bool no_byte(std::string_view s, std::string_view bad) { return s.find_first_of(bad) == std::string_view::npos; }

constexpr std::string_view kNul("\0", 1);
constexpr std::string_view kNulCrLf("\0\r\n", 3);

bool version_ok(Reader& r) {
  uint8_t v;
  return r.byte(v) && v == kVersion;
}

}  // namespace

bool valid_user(std::string_view u) { return !u.empty() && u.size() <= 255 && no_byte(u, kNul); }
bool valid_body_id(std::string_view id) { return !id.empty() && id.size() <= 255 && no_byte(id, kNul); }
bool valid_mailbox_name(std::string_view n) { return !n.empty() && n.size() <= 1024 && no_byte(n, kNulCrLf); }
bool valid_keyword(std::string_view k) { return !k.empty() && k.size() <= 1024 && no_byte(k, kNulCrLf); }

std::string account_key(std::string_view user) { return kAccountPrefix + std::string(user); }

std::string uidvalidity_floor_key(std::string_view user) { return 'V' + std::string(user); }

std::string encode_uidvalidity_floor(uint32_t last) {
  std::string out(1, static_cast<char>(kVersion));
  put_varint(out, last);
  return out;
}

bool decode_uidvalidity_floor(std::string_view in, uint32_t& last) {
  Reader r(in);
  return version_ok(r) && r.u32(last) && r.at_end();
}

std::string user_prefix(std::string_view user) {
  std::string k(1, 'U');
  k.append(user);
  k.push_back('\0');
  return k;
}

std::string user_prefix_end(std::string_view user) {
  std::string k = user_prefix(user);
  k.back() = '\1';
  return k;
}

std::string mailbox_key(std::string_view user, uint32_t mailbox_id) {
  std::string k = user_prefix(user);
  k.push_back('B');
  put_be32(k, mailbox_id);
  return k;
}

std::string message_key(std::string_view user, uint32_t mailbox_id, uint32_t uid) {
  std::string k = user_prefix(user);
  k.push_back('M');
  put_be32(k, mailbox_id);
  put_be32(k, uid);
  return k;
}

std::string body_key(std::string_view body_id) { return 'B' + std::string(body_id); }
std::string structure_key(std::string_view body_id) { return 'S' + std::string(body_id); }

std::string ref_prefix(std::string_view body_id) {
  std::string k(1, kRefPrefix);
  k.append(body_id);
  k.push_back('\0');
  return k;
}

std::string ref_key(std::string_view body_id, std::string_view user, uint32_t mailbox_id, uint32_t uid) {
  std::string k = ref_prefix(body_id);
  k.append(user);
  k.push_back('\0');
  put_be32(k, mailbox_id);
  put_be32(k, uid);
  return k;
}

std::string hint_key(std::string_view body_id, std::string_view user, uint32_t mailbox_id, uint32_t uid) {
  std::string k = ref_key(body_id, user, mailbox_id, uid);
  k[0] = kHintPrefix;
  return k;
}

std::optional<UserKey> parse_user_key(std::string_view rest) {
  if (rest.size() == 5 && rest[0] == 'B') return UserKey{UserKey::Kind::Mailbox, get_be32(rest.substr(1)), 0};
  if (rest.size() == 9 && rest[0] == 'M')
    return UserKey{UserKey::Kind::Message, get_be32(rest.substr(1)), get_be32(rest.substr(5))};
  return std::nullopt;
}

std::optional<std::string> parse_account_key(std::string_view key) {
  if (key.empty() || key[0] != kAccountPrefix || !valid_user(key.substr(1))) return std::nullopt;
  return std::string(key.substr(1));
}

std::optional<RefKey> parse_ref_key(std::string_view key) {
  // prefix, body id, NUL, user, NUL, 8 bytes
  if (key.size() < 1 + 1 + 1 + 1 + 1 + 8 || (key[0] != kRefPrefix && key[0] != kHintPrefix)) return std::nullopt;
  std::string_view rest = key.substr(1, key.size() - 10);  // body id NUL user
  size_t nul = rest.find('\0');
  if (nul == std::string_view::npos || key[key.size() - 9] != '\0') return std::nullopt;
  RefKey r;
  r.body_id = std::string(rest.substr(0, nul));
  r.user = std::string(rest.substr(nul + 1));
  if (!valid_body_id(r.body_id) || !valid_user(r.user)) return std::nullopt;
  r.mailbox_id = get_be32(key.substr(key.size() - 8));
  r.uid = get_be32(key.substr(key.size() - 4));
  return r;
}

std::string encode_account(const Account& a) {
  std::string out(1, static_cast<char>(kVersion));
  put_varint(out, a.next_mailbox_id);
  put_varint(out, a.last_uidvalidity);
  put_varint(out, a.totals.messages);
  put_varint(out, a.totals.bytes);
  return out;
}

bool decode_account(std::string_view in, Account& out) {
  Reader r(in);
  Account a;
  if (!version_ok(r) || !r.u32(a.next_mailbox_id) || !r.u32(a.last_uidvalidity) || !r.varint(a.totals.messages) ||
      !r.varint(a.totals.bytes) || !r.at_end())
    return false;
  out = a;
  return true;
}

std::string encode_mailbox(const Mailbox& m) {
  std::string out(1, static_cast<char>(kVersion));
  put_string(out, m.name);
  put_varint(out, m.uidvalidity);
  put_varint(out, m.uidnext);
  put_varint(out, m.highest_modseq);
  put_varint(out, m.attributes);
  return out;
}

bool decode_mailbox(std::string_view in, Mailbox& out) {
  Reader r(in);
  Mailbox m;
  if (!version_ok(r) || !r.string(m.name, "name", 1024) || !valid_mailbox_name(m.name) || !r.u32(m.uidvalidity) ||
      !r.u32(m.uidnext) || !r.varint(m.highest_modseq) || !r.u32(m.attributes) || !r.at_end())
    return false;
  out.name = std::move(m.name);
  out.uidvalidity = m.uidvalidity;
  out.uidnext = m.uidnext;
  out.highest_modseq = m.highest_modseq;
  out.attributes = m.attributes;
  return true;
}

std::string encode_message(const Message& m) {
  std::string out(1, static_cast<char>(kVersion));
  put_string(out, m.body_id);
  put_varint(out, m.size);
  put_signed(out, m.internal_date_ms);
  put_varint(out, m.modseq);
  out.push_back(static_cast<char>(m.flags));
  put_varint(out, m.keywords.size());
  for (const std::string& k : m.keywords) put_string(out, k);
  return out;
}

bool decode_message(std::string_view in, Message& out) {
  Reader r(in);
  Message m;
  uint64_t count = 0;
  if (!version_ok(r) || !r.string(m.body_id, "body_id", 255) || !valid_body_id(m.body_id) || !r.varint(m.size) ||
      !r.signed64(m.internal_date_ms) || !r.varint(m.modseq) || !r.byte(m.flags) || (m.flags & ~kAllFlags) ||
      !r.varint(count) || count > kMaxKeywords)
    return false;
  for (uint64_t i = 0; i < count; ++i) {
    std::string k;
    if (!r.string(k, "keyword", 1024) || !valid_keyword(k)) return false;
    // Stored sorted and unique: anything else is not ours.
    if (!m.keywords.empty() && !(m.keywords.back() < k)) return false;
    m.keywords.push_back(std::move(k));
  }
  if (!r.at_end()) return false;
  m.uid = out.uid;
  out = std::move(m);
  return true;
}

}  // namespace ringmta::mailbox::codec
