// config/config_imap.cpp — the [imap] table (see config.h and
// deploy/ringmta.toml): the IMAP server's own settings. Connection limits,
// the TLS handshake budget and login throttling are the shared ones
// ([limits], [auth]), as for POP3.
#include "config/config_internal.h"

namespace ringmta::config::detail {

void read_imap(Validator& v, const toml::table& t, Config::Imap& out) {
  if (const auto* n = t.get("allow_plaintext_auth"))
    if (auto b = v.boolean(*n, "imap.allow_plaintext_auth")) out.allow_plaintext_auth = *b;
  if (const auto* n = t.get("autologout"))
    if (auto d = v.duration(*n, "imap.autologout", false)) {
      // RFC 9051 section 5.4: "the duration of the inactivity timer MUST be at least 30 minutes".
      if (d->count() < 1800)
        v.error(Validator::line_of(*n), "imap.autologout", "at least 30m (RFC 9051 section 5.4)");
      else
        out.autologout = *d;
    }
  if (const auto* n = t.get("max_bad_commands"))
    if (auto i = v.integer(*n, "imap.max_bad_commands", 1, kMaxCount, "a positive integer (at most 1000000)"))
      out.max_bad_commands = static_cast<unsigned>(*i);
  if (const auto* n = t.get("append_limit"))
    if (auto s = v.size(*n, "imap.append_limit", 0, 1ull << 40, "a size (0 = limits.max_message_size)"))
      out.append_limit = *s;
}

}  // namespace ringmta::config::detail
