// config/config_pop3.cpp — the [pop3] table (see config.h and
// deploy/ringmta.toml): the POP3 server's own settings. Connection limits,
// the TLS handshake budget and login throttling are the shared ones
// ([limits], [auth]), so one client cannot get around them by switching protocol.
#include "config/config_internal.h"

namespace ringmta::config::detail {

void read_pop3(Validator& v, const toml::table& t, Config::Pop3& out) {
  if (const auto* n = t.get("allow_plaintext_auth"))
    if (auto b = v.boolean(*n, "pop3.allow_plaintext_auth")) out.allow_plaintext_auth = *b;
  if (const auto* n = t.get("autologout"))
    if (auto d = v.duration(*n, "pop3.autologout", false)) {
      // RFC 1939 section 3: "Such a timer MUST be of at least 10 minutes' duration."
      if (d->count() < 600)
        v.error(Validator::line_of(*n), "pop3.autologout", "at least 10m (RFC 1939 section 3)");
      else
        out.autologout = *d;
    }
  if (const auto* n = t.get("max_errors"))
    if (auto i = v.integer(*n, "pop3.max_errors", 1, kMaxCount, "a positive integer (at most 1000000)"))
      out.max_errors = static_cast<unsigned>(*i);
}

}  // namespace ringmta::config::detail
