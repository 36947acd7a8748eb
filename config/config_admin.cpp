// config/config_admin.cpp — the [admin] table (see config.h, admin/admin_server.h
// and deploy/ringmta.toml): where the admin API listens and its token.
//
// The API can delete and bounce mail, so a TCP endpoint must be on a loopback
// address (it has no TLS) and must have a token; a Unix socket is protected
// by its file mode and the peer's uid.
#include "config/config_internal.h"

namespace ringmta::config::detail {

namespace {
constexpr size_t kMinToken = 16;

bool is_loopback(const engine::SocketAddress& a) {
  const std::string ip = a.ip();
  return ip.rfind("127.", 0) == 0 || ip == "::1";
}
}  // namespace

void read_admin(Validator& v, const toml::table& t, Config::Admin& out) {
  bool tcp = false;
  uint32_t listen_line = 0;
  if (const auto* n = t.get("listen")) {
    if (auto s = v.string(*n, "admin.listen")) {
      listen_line = Validator::line_of(*n);
      const bool unix_path = s->empty() || *s == "off" || s->front() == '/' || s->rfind("unix:/", 0) == 0;
      if (unix_path) {
        if (s->find('\0') != std::string::npos || s->size() > 107)
          v.expected(*n, "admin.listen", "a socket path of at most 107 bytes");
        else
          out.listen = *s;
      } else if (auto a = engine::SocketAddress::parse(*s); a && a->port() != 0) {
        if (!is_loopback(*a)) {
          v.error(listen_line, "admin.listen",
                  "'" + *s + "' is not a loopback address: the admin API has no TLS, so TCP is allowed on "
                  "127.0.0.0/8 or [::1] only (use a Unix socket, or a tunnel, from elsewhere)");
        } else {
          out.listen = *s;
          tcp = true;
        }
      } else {
        v.expected(*n, "admin.listen",
                   "\"\" (admin.sock in data_dir), an absolute socket path, \"127.0.0.1:PORT\" or \"off\"");
      }
    }
  }
  if (const auto* n = t.get("token")) {
    if (auto s = v.string(*n, "admin.token")) {
      bool printable = true;
      for (unsigned char c : *s) printable &= c > 0x20 && c < 0x7F;
      if (!s->empty() && (!printable || s->size() < kMinToken))
        v.expected(*n, "admin.token", "at least 16 printable ASCII characters without spaces (or \"\" for none)");
      else
        out.token = *s;
    }
  }
  if (tcp && out.token.empty())
    v.error(listen_line, "admin.listen", "a TCP admin endpoint needs admin.token (anyone on this host could connect)");
}

}  // namespace ringmta::config::detail
