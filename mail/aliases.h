// mail/aliases.h — local recipients: the aliases file (a subset of Postfix's
// aliases(5)) and the resolution of an address at a local domain to the
// users whose mailboxes get the mail and the outside addresses it is
// forwarded to. Pure: text and sets in, structures out (no files, no clock),
// so it is golden-tested and fuzzed alone; relay/local_directory.h reads the
// files and keeps the current tables for the shards.
//
// The aliases file (operator's view: deploy/ringmta.toml, [relay]):
//     # comment
//     postmaster: alice
//     sales@example.org: bob, carol@example.org,
//         partner@elsewhere.example        <- a line starting with blank space
//                                             continues the entry before it
//     abuse: postmaster
// NAME is a local part (of the first local domain) or a full address;
// each TARGET is a user or alias of the first local domain ("bob"), or a full
// address — local (a user or another alias) or outside (forwarded). Names and
// targets are compared in lower case. Not supported (the line is reported):
// "|command", "/file", ":include:", quoted local parts. A NAME given twice:
// the first entry counts.
//
// Resolution (resolve()):
//   1. an address outside the local domains is not ours (NotLocal);
//   2. an alias of the exact address expands to its targets, each resolved
//      again (at most kMaxAliasDepth levels; an alias reached again on its
//      own path is a loop and contributes nothing — but a target naming the
//      alias itself that is also a user, "alice: alice, copy@x", is that user);
//   3. else, with a recipient delimiter, "user+tag@d" is looked up as
//      "user@d" (its alias first, then the user);
//   4. else a user of the users file is that user; anything else is unknown.
// Users and outside addresses are collected once each (duplicates removed,
// first-seen order). An address that reaches nobody is Unknown (550 5.1.1 at
// RCPT); expansion deeper than kMaxAliasDepth or wider than kMaxExpansion is
// TooDeep (an operator's mistake: a temporary error, the mail is not lost).
#pragma once

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::mail {

inline constexpr size_t kMaxAliasDepth = 10;
inline constexpr size_t kMaxExpansion = 1000;  // aliases visited, users and outside addresses, per resolve()
inline constexpr size_t kMaxAddressLength = 320;

struct AliasTable {
  // Lower-case full address -> its targets (lower-case full addresses), in
  // file order, duplicates removed.
  std::map<std::string, std::vector<std::string>> entries;
  // "SOURCE:LINE: message" for each thing skipped (a line, or one target).
  std::vector<std::string> problems;
};

// `default_domain`: the first local domain, for names and targets without
// one ("" = such names are reported and skipped).
AliasTable parse_aliases(std::string_view text, std::string_view source, std::string_view default_domain);

// A users-file name as a mailbox owner: lower case, "@default_domain" added
// to a bare name. "" when the name cannot be one (empty domain part...).
std::string canonical_user(std::string_view name, std::string_view default_domain);

struct LocalDomains {
  std::vector<std::string> domains;  // lower case; the first is the default domain
  std::string delimiter;             // "" = no sub-addressing
  bool contains(std::string_view domain) const;  // case-insensitive
};

struct Resolution {
  enum class Status { NotLocal, Unknown, Ok, TooDeep } status = Status::Unknown;
  std::vector<std::string> users;     // canonical users (mailboxes), first-seen order
  std::vector<std::string> external;  // outside addresses (forwarded), first-seen order
};

// `users`: canonical users (canonical_user) with a mailbox.
Resolution resolve(std::string_view address, const AliasTable& aliases, const std::set<std::string>& users,
                   const LocalDomains& local);

// The addresses RFC 5321 §4.5.1 (postmaster) and RFC 2142 (abuse) require at
// each local domain that resolve to nobody: the start-up warning's list.
std::vector<std::string> missing_role_addresses(const AliasTable& aliases, const std::set<std::string>& users,
                                                const LocalDomains& local);

}  // namespace ringmta::mail
