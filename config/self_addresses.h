// config/self_addresses.h — "is this address myself?", for mail-loop protection.
//
// Delivery must never hand a message to the daemon's own listeners: the
// message would be accepted again, queued again and relayed again, a
// `Received:` header per pass, until something else stops it. A target
// address is "myself" when it is one of the mail listener addresses (smtp,
// submission, submissions — not POP3/IMAP; exact ip:port), or when a listener on 0.0.0.0 / :: has its port and the IP is an
// address of this host: one of its interfaces (getifaddrs), any of
// 127.0.0.0/8 and ::1 (loopback answers for every listener bound to the
// wildcard), or 0.0.0.0 / :: themselves (a connect to them reaches the host).
// IPv4-mapped IPv6 addresses count as their IPv4 address.
//
// The interface list is read once per process (host_addresses()); the daemon
// reads it at start on the main thread, so no shard thread ever waits for
// the kernel's answer. Addresses added later are not known: like Postfix's
// inet_interfaces, the set is fixed at start.
#pragma once

#include <string>
#include <vector>

#include "engine/address.h"
#include "config/config.h"

namespace ringmta::config {

// The IP addresses of this host's interfaces ("192.0.2.7", "fe80::1"; no
// scope), read with getifaddrs on the first call and kept. Empty when
// getifaddrs fails (loopback is still covered by SelfAddresses).
const std::vector<std::string>& host_addresses();

class SelfAddresses {
 public:
  SelfAddresses() = default;  // knows no listener: nothing is myself
  // `local_ips`: this host's addresses (host_addresses() in the daemon; given
  // by tests).
  SelfAddresses(const std::vector<ListenerConfig>& listeners, std::vector<std::string> local_ips);
  // The daemon's own view: its listeners and host_addresses().
  static SelfAddresses of(const Config& config);

  // The listener (address as written in the configuration) that a connection
  // to `target` would reach, or nullptr when it is not one of ours.
  const ListenerConfig* listener_for(const engine::SocketAddress& target) const;
  bool contains(const engine::SocketAddress& target) const { return listener_for(target) != nullptr; }
  // Whether `ip` (text, no port) is an address of this host.
  bool is_local_ip(const std::string& ip) const;

 private:
  std::vector<ListenerConfig> listeners_;
  std::vector<std::string> local_;  // normalised by engine::SocketAddress::ip()
};

}  // namespace ringmta::config
