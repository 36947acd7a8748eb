// auth/auth_users.h — the SMTP AUTH users file: parsing, editing and
// crypt(3) password hashing (libcrypt: yescrypt, SHA-512-crypt, bcrypt...).
//
// Format (documented for operators in deploy/ringmta.toml, [auth]):
//     NAME:HASH[:SENDERS[:FIELD...]]
// A FIELD "quota=SIZE" (bytes, or with K/M/G/T binary units: "500M"; 0 = no
// limit) overrides mailbox.quota for the user; it may also stand in the
// SENDERS place ("alice:HASH:quota=2G"). Other fields are ignored.
// HASH may carry a Dovecot scheme prefix ("{SHA512-CRYPT}$6$..."); SENDERS is
// a comma list of "a@b" / "@b" used by auth.sender_login_match, and a third
// field that is empty or numeric (a Dovecot uid) means "none". '#' comments
// and blank lines are kept as they are when ringmtactl edits the file.
//
// Everything here is thread-safe (crypt_rn with caller-owned state) and
// slow on purpose where it hashes: call it on a worker, never a shard thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/result.h"

namespace ringmta::auth {

struct UserRecord {
  std::string hash;                  // crypt(3) string, scheme prefix removed
  std::vector<std::string> senders;  // allowed MAIL FROM ("a@b" or "@b")
  std::optional<uint64_t> quota;     // "quota=SIZE" field: this user's mailbox quota (0 = none)
};

// "500M" / "2G" / "1048576" / "1MiB" -> bytes (binary units); nullopt if not a size.
std::optional<uint64_t> parse_quota(std::string_view text);

struct UsersDb {
  std::unordered_map<std::string, UserRecord> users;
  // The first usable crypt(3) hash in file order (not locked): the model for
  // the dummy hash unknown and locked users are checked against. "" if none.
  std::string first_hash;
  std::vector<std::string> problems;  // "FILE:LINE: message" for each skipped line
};

// Parse the whole file. Bad lines are skipped and described in `problems`.
UsersDb parse_users(std::string_view text, std::string_view source);

// Why `name` cannot be a user name ("" when it can): empty, longer than 255
// bytes, or containing ':', whitespace or control characters.
std::string user_name_problem(std::string_view name);

// True when `password` matches the crypt(3) `hash` (constant-time compare).
// A locked/invalid hash ("!", "*", "") never matches.
bool verify_password(std::string_view password, const std::string& hash);

// A new yescrypt hash of `password` with a random salt, or why libcrypt refused.
base::Result<std::string> hash_password(std::string_view password);

// A hash of a random, thrown-away password made with the settings (scheme,
// cost, salt) of `model`, a real user's hash: checking a password against it
// costs what checking against `model` costs, and it matches nothing anyone
// knows. nullopt when `model` is not a hash libcrypt can compute.
std::optional<std::string> dummy_hash_like(const std::string& model);

// Replace the line of `name` (keeping its SENDERS and further fields) or append
// "name:hash" when absent. Other lines, comments included, stay as they are.
std::string set_user_line(std::string_view text, std::string_view name, std::string_view hash);
// Remove the line(s) of `name`; `found` says whether there was one.
std::string remove_user_line(std::string_view text, std::string_view name, bool* found);
// Whether the file text has a line for `name`.
bool has_user(std::string_view text, std::string_view name);

}  // namespace ringmta::auth
