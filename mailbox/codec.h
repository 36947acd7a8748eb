// mailbox/codec.h — keys and values of the mail store in RocksDB. Pure code
// (no RocksDB, no I/O), so it is fuzzed on bytes alone (tests/fuzz/mailbox_codec).
//
// Three column families (extra families of the queue's database, queue.h):
//
//   mailbox (small records, loaded per user):
//     'A' user                              -> account   (counters, totals)
//     'V' user                              -> last UIDVALIDITY after a purge
//     'U' user '\0' 'B' BE32 mailbox id     -> mailbox   (name, UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ)
//     'U' user '\0' 'M' BE32 mbox BE32 uid  -> message   (body id, size, dates, flags, keywords, MODSEQ)
//     One range scan of 'U' user '\0' loads a user: mailboxes first ('B' < 'M'),
//     then messages by mailbox and UID. Accounts sit apart so listing users
//     reads one short record each.
//   mailbox_bodies (large, blob files):
//     'B' body id -> the message as stored (exact octets)
//     'S' body id -> the structure blob (mail/'s MIME parser output; opaque here)
//   mailbox_refs (empty values):
//     'R' body id '\0' user '\0' BE32 mbox BE32 uid -> ""   one per message using the body
//     'G' <the same suffix>                          -> ""   the ref was removed: a GC hint
//
// Values start with a version byte (1); integers are LEB128 varints, strings
// a varint length + bytes. A record with another version, a truncated or
// over-long field, a bad flag bit or trailing bytes is Corruption.
//
// Names: users and body ids are 1..255 bytes without NUL; mailbox names and
// keywords 1..1024 bytes without NUL, CR or LF (valid_* below).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "mailbox/records.h"

namespace ringmta::mailbox::codec {

inline constexpr uint8_t kVersion = 1;
inline constexpr size_t kMaxKeywords = 1000;  // per message, sanity bound for the decoder

bool valid_user(std::string_view user);
bool valid_body_id(std::string_view id);
bool valid_mailbox_name(std::string_view name);
bool valid_keyword(std::string_view kw);

// Keys (see the layout above).
std::string account_key(std::string_view user);
// 'V' user -> the user's last UIDVALIDITY, written by a purge (which deletes
// the account record): a mailbox created after the purge still gets a
// greater UIDVALIDITY (RFC 9051 §2.3.1.1), even within the same second.
std::string uidvalidity_floor_key(std::string_view user);
std::string encode_uidvalidity_floor(uint32_t last);
bool decode_uidvalidity_floor(std::string_view in, uint32_t& last);
inline constexpr char kAccountPrefix = 'A';
std::string user_prefix(std::string_view user);        // 'U' user '\0'
std::string user_prefix_end(std::string_view user);    // 'U' user '\1': the end of the user's range
std::string mailbox_key(std::string_view user, uint32_t mailbox_id);
std::string message_key(std::string_view user, uint32_t mailbox_id, uint32_t uid);
std::string body_key(std::string_view body_id);
std::string structure_key(std::string_view body_id);
std::string ref_key(std::string_view body_id, std::string_view user, uint32_t mailbox_id, uint32_t uid);
std::string hint_key(std::string_view body_id, std::string_view user, uint32_t mailbox_id, uint32_t uid);
std::string ref_prefix(std::string_view body_id);  // 'R' body id '\0'
inline constexpr char kRefPrefix = 'R';
inline constexpr char kHintPrefix = 'G';

// A key of a user's range, split (after the user prefix).
struct UserKey {
  enum class Kind { Mailbox, Message } kind;
  uint32_t mailbox_id = 0;
  uint32_t uid = 0;
};
// `rest` is the key without user_prefix(user); nothing if it is no such key.
std::optional<UserKey> parse_user_key(std::string_view rest);
// 'A' user -> user.
std::optional<std::string> parse_account_key(std::string_view key);
// A 'R' or 'G' key -> its parts.
struct RefKey {
  std::string body_id;
  std::string user;
  uint32_t mailbox_id = 0;
  uint32_t uid = 0;
};
std::optional<RefKey> parse_ref_key(std::string_view key);

// Values. Mailbox::messages and Message::uid are not in the values (keys hold them).
std::string encode_account(const Account& a);
bool decode_account(std::string_view in, Account& out);
std::string encode_mailbox(const Mailbox& m);
bool decode_mailbox(std::string_view in, Mailbox& out);  // fills all but id and messages
std::string encode_message(const Message& m);
bool decode_message(std::string_view in, Message& out);  // fills all but uid

}  // namespace ringmta::mailbox::codec
