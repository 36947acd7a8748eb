// relay/credentials.h — the delivery.credentials_file format (upstream SMTP
// AUTH logins per smart host), parsed purely: text in, table out. No files,
// no clocks; relay/credential_store.h reads and re-reads the file.
//
// The format follows Postfix's smtp_sasl_password_maps, one entry a line:
//
//   # comment (also after blanks); empty lines are ignored
//   [smtp.provider.example]:587  user@example.org:secret   host and port
//   [smtp.provider.example]      user:secret               host, any port
//   smtp.provider.example        user:secret               the same
//   @example.org                 user:secret               every host that
//                                                           mail for the domain
//                                                           example.org goes to
//
// The login is everything after the first blank run up to the first ':'; the
// password is the rest of the line after that ':' (it may hold ':' and
// blanks inside, not at its ends — trailing blanks are trimmed). Host names
// and domains compare case-insensitively. A bad line is reported with its
// line number (never with its password) and skipped; a duplicate key keeps
// the first entry.
//
// Lookup (Postfix: the remote host, then the next-hop domain):
//   1. "[host]:port" of the host connected to;
//   2. "host" / "[host]" of that host (any port);
//   3. "@domain" of the recipient domain the connection carries mail for.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::relay {

struct Credential {
  std::string user;
  std::string password;
  uint32_t line = 0;  // where it was written (for logs; never the password)
};

struct CredentialTable {
  // Keys: "[host]:port" (port given), "host" (no port), "@domain"; lower case.
  std::map<std::string, Credential> entries;
  std::vector<std::string> problems;  // "SOURCE:LINE: why" (no secrets)

  // The credential for a connection to `host` (name as connected to, or an
  // IP literal) on `port` carrying mail for `domain` ("" = unknown), or null.
  const Credential* find(std::string_view host, uint16_t port, std::string_view domain) const;
  bool empty() const { return entries.empty(); }
};

// Lines longer than this are refused (a credentials file is small).
constexpr size_t kMaxCredentialLine = 4096;

CredentialTable parse_credentials(std::string_view text, std::string_view source);

}  // namespace ringmta::relay
