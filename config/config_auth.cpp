// config/config_auth.cpp — the [auth] table (see config.h, auth/auth.h and
// deploy/ringmta.toml). Only the shape is checked here; the users file itself
// is read (and its problems reported) when the daemon starts, and again
// whenever it changes.
#include "config/config_internal.h"

namespace ringmta::config::detail {

void read_auth(Validator& v, const toml::table& t, Config::Auth& out) {
  if (const auto* n = t.get("users_file")) {
    if (auto s = v.string(*n, "auth.users_file")) {
      if (s->find('\0') != std::string::npos)
        v.expected(*n, "auth.users_file", "a file path (or \"\" for no AUTH)");
      else
        out.users_file = *s;
    }
  }
  if (const auto* n = t.get("sender_login_match"))
    if (auto b = v.boolean(*n, "auth.sender_login_match")) out.sender_login_match = *b;
  if (const auto* n = t.get("max_failures"))
    if (auto i = v.integer(*n, "auth.max_failures", 1, kMaxCount, "a positive integer (at most 1000000)"))
      out.max_failures = static_cast<unsigned>(*i);
  if (const auto* n = t.get("failure_delay"))
    if (auto d = v.duration(*n, "auth.failure_delay", true)) {
      if (d->count() > 60)
        v.error(Validator::line_of(*n), "auth.failure_delay", "at most 60s (a longer delay only ties up the client)");
      else
        out.failure_delay = *d;
    }
  if (const auto* n = t.get("failure_window"))
    if (auto d = v.duration(*n, "auth.failure_window", false)) out.failure_window = *d;
}

}  // namespace ringmta::config::detail
