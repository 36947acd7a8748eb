// limits/client_key.cpp — see client_key.h.
#include "limits/client_key.h"

#include <arpa/inet.h>

#include <cstring>

namespace ringmta::limits {

std::string client_key(std::string_view ip) {
  const std::string text(ip);
  in6_addr a6{};
  if (text.find(':') == std::string::npos || ::inet_pton(AF_INET6, text.c_str(), &a6) != 1) return text;
  char buf[INET6_ADDRSTRLEN];
  if (IN6_IS_ADDR_V4MAPPED(&a6))  // an IPv4 client on a dual-stack socket
    return ::inet_ntop(AF_INET, a6.s6_addr + 12, buf, sizeof buf) ? std::string(buf) : text;
  std::memset(a6.s6_addr + 8, 0, 8);  // keep the /64
  if (!::inet_ntop(AF_INET6, &a6, buf, sizeof buf)) return text;
  return std::string(buf) + "/64";
}

}  // namespace ringmta::limits
