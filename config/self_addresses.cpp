// config/self_addresses.cpp — see self_addresses.h.
#include "config/self_addresses.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <utility>

namespace ringmta::config {
namespace {

// The canonical text of an IP (v4-mapped v6 as v4), or "" when `ip` is not one.
std::string normalise(const std::string& ip) {
  auto a = engine::SocketAddress::from_ip(ip, 0);
  return a ? a->ip() : std::string();
}

bool is_v6(const std::string& ip) { return ip.find(':') != std::string::npos; }

bool always_local(const std::string& ip) {
  // 127.0.0.0/8 and ::1 are loopback; 0.0.0.0 and :: as a destination mean this host.
  return ip.rfind("127.", 0) == 0 || ip == "::1" || ip == "0.0.0.0" || ip == "::";
}

std::vector<std::string> read_interfaces() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    const int family = i->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    const socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::string ip = engine::SocketAddress(i->ifa_addr, len).ip();
    if (!ip.empty() && std::find(out.begin(), out.end(), ip) == out.end()) out.push_back(std::move(ip));
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace

const std::vector<std::string>& host_addresses() {
  static const std::vector<std::string> addresses = read_interfaces();  // thread-safe once
  return addresses;
}

SelfAddresses::SelfAddresses(const std::vector<ListenerConfig>& listeners, std::vector<std::string> local_ips)
{
  // Only the listeners that take mail: handing a message to our own POP3 or
  // IMAP port is a failed delivery, not a loop.
  for (const auto& l : listeners)
    if (l.kind == ListenerKind::Smtp || l.kind == ListenerKind::Submission || l.kind == ListenerKind::Submissions)
      listeners_.push_back(l);
  for (auto& ip : local_ips)
    if (auto n = normalise(ip); !n.empty()) local_.push_back(std::move(n));
}

SelfAddresses SelfAddresses::of(const Config& config) { return SelfAddresses(config.listeners, host_addresses()); }

bool SelfAddresses::is_local_ip(const std::string& ip) const {
  const std::string n = normalise(ip);
  if (n.empty()) return false;
  return always_local(n) || std::find(local_.begin(), local_.end(), n) != local_.end();
}

const ListenerConfig* SelfAddresses::listener_for(const engine::SocketAddress& target) const {
  const std::string ip = target.ip();
  if (ip.empty()) return nullptr;
  for (const auto& l : listeners_) {
    if (l.address.port() != target.port()) continue;
    if (l.address.is_wildcard()) {
      // Listeners are bound with IPV6_V6ONLY (engine/reactor_io.cpp): "::"
      // takes IPv6 only, "0.0.0.0" IPv4 only.
      const bool v6_listener = l.address.family() == AF_INET6;
      if (v6_listener == is_v6(ip) && is_local_ip(ip)) return &l;
    } else if (l.address.ip() == ip) {
      return &l;
    }
  }
  return nullptr;
}

}  // namespace ringmta::config
