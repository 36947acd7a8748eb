// queue/codec.h — the on-disk encoding of queue records and keys (private to queue/).
//
// Pure code (no RocksDB, no I/O) so it can be fuzzed on bytes alone.
//
// Values. Every record starts with a format version byte; fields follow in a
// fixed order: integers as LEB128 varints (signed ones zig-zagged), strings as
// a varint length + bytes, enums/bools as one range-checked byte. A later
// format appends fields after the version-1 ones and bumps the version byte;
// its decoder fills the missing fields of older records with defaults, so old
// records stay readable. A record with an unknown (newer) version, a truncated
// field, an out-of-range enum or trailing bytes is Corruption — never a crash.
//
//   envelope header (messages CF, key 'E'+id): everything in Envelope except
//     id (it is the key) and the recipients (own CF), plus the recipient count.
//   recipient (recipients CF, key id+'\0'+BE32 index): one Recipient.
//
// Keys (ids are 1..255 bytes without NUL, checked by validate_id):
//   messages   : 'E' + id -> envelope header;  'B' + id -> body.
//                Envelopes and bodies live in separate key ranges so a scan over
//                'E' never touches (or loads from blob files) a body.
//   recipients : id + '\0' + BE32 index. The NUL terminator makes "ABC" sort
//                before "ABCD" and keeps one id's range free of other ids.
//   schedule   : BE64 due unix-ms + id -> "".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "queue/queue.h"

namespace ringmta::queue::codec {

inline constexpr uint8_t kFormatVersion = 1;
// Sanity bound on the recipient count stored in a header (RFC 5321 asks for
// at least 100 per message; nobody needs a million).
inline constexpr uint32_t kMaxRecipients = 1'000'000;

// Envelope header: all fields but id and recipients; stores recipients.size().
std::string encode_envelope_header(const Envelope& env);
// Fills every field but id and recipients; `recipient_count` gets the count.
Status decode_envelope_header(std::string_view in, Envelope& out, uint32_t& recipient_count);

std::string encode_recipient(const Recipient& rcpt);
Status decode_recipient(std::string_view in, Recipient& out);

// Ids are keys: non-empty, at most 255 bytes, no NUL byte (see key layout above).
Status validate_id(std::string_view id);

std::string envelope_key(std::string_view id);  // messages CF
std::string body_key(std::string_view id);      // messages CF
inline constexpr char kEnvelopePrefix = 'E';
inline constexpr char kBodyPrefix = 'B';

std::string recipient_key(std::string_view id, uint32_t index);  // recipients CF
std::string recipient_prefix(std::string_view id);               // id + '\0'

std::string schedule_key(int64_t due_ms, std::string_view id);  // schedule CF
std::string schedule_bound(int64_t due_ms);                     // the 8-byte time part
// Splits a schedule key; false if it is not one.
bool parse_schedule_key(std::string_view key, int64_t& due_ms, std::string& id);

// The schedule entry a stored envelope should have: the earliest
// next_attempt_ms among Pending recipients, or nothing if none is pending.
// Negative times are clamped to 0 ("due since forever"). A held message
// (kFlagHeld) has none: it is never due until released, and the loader does
// not even read it.
std::optional<int64_t> schedule_due_ms(const Envelope& env);

}  // namespace ringmta::queue::codec
