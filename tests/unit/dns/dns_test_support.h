// tests/unit/dns/dns_test_support.h — helpers for the resolver tests: a Reactor
// running in a thread of the test, child DNS servers on 127.0.0.1 (dnsmasq,
// the scripted fake) started and stopped by PID, and free-port picking.
#pragma once

#include <ares.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dns/resolver.h"
#include "engine/reactor.h"
#include "tests/unit/child_process.h"

namespace ringmta::dns::testing {

// A loopback port free for both UDP and TCP right now (dnsmasq binds both).
// The TCP side stays held for the life of the test binary by a bound,
// never-listening socket with SO_REUSEADDR and SO_REUSEPORT (its fd is left
// open on purpose): no other TCP bind(0) gets the number, while the DNS
// server of this test (dnsmasq, fake_dns.py: both set SO_REUSEADDR) can
// still listen on it. The UDP side cannot be held that way (a second UDP
// socket on the port could receive the queries), so it is only checked.
inline uint16_t free_port() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    bind(u, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    getsockname(u, reinterpret_cast<sockaddr*>(&sin), &len);
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(t, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(t, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    int ok = bind(t, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    uint16_t port = ntohs(sin.sin_port);
    close(u);
    if (ok == 0) return port;  // t stays open: the hold
    close(t);
  }
  return 0;
}

// True once a UDP DNS server on 127.0.0.1:port answers a query (bounded wait).
inline bool wait_for_dns(uint16_t port, const char* probe_name = "probe.invalid") {
  unsigned char* q = nullptr;
  int qlen = 0;
  if (ares_create_query(probe_name, 1, 1, 0x4242, 1, &q, &qlen, 0) != ARES_SUCCESS) return false;
  std::string query(reinterpret_cast<char*>(q), qlen);
  ares_free_string(q);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = htons(port);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {  // at most ~10 s
    sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) == 1 && (p.revents & POLLIN)) {
      char buf[1500];
      up = recv(fd, buf, sizeof buf, 0) > 0;
    }
  }
  close(fd);
  return up;
}

using ringmta::testing::ChildProcess;

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline size_t count_of(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t p = haystack.find(needle); p != std::string::npos; p = haystack.find(needle, p + 1)) ++n;
  return n;
}

// A Reactor on its own thread with a Resolver living on that thread.
class ResolverHarness {
 public:
  explicit ResolverHarness(ResolverOptions options) : reactor_(std::make_unique<engine::Reactor>(0)) {
    thread_ = std::thread([this] { reactor_->run(); });
    call([&] { resolver_ = std::make_unique<Resolver>(*reactor_, std::move(options)); });
  }
  ~ResolverHarness() {
    call([&] { resolver_.reset(); });
    reactor_->stop();
    thread_.join();
  }

  // Runs fn on the reactor thread and waits for it.
  void call(const std::function<void()>& fn) {
    std::promise<void> done;
    reactor_->post([&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }

  Result mx(const std::string& domain) { return wait(start_mx(domain)); }
  Result host(const std::string& name) { return wait(start_host(name)); }

  // Starts a lookup; the future gets the result (bounded wait in wait()).
  std::shared_future<Result> start_mx(const std::string& domain) {
    auto p = std::make_shared<std::promise<Result>>();
    call([&] { resolver_->resolve_mx(domain, [p](const Result& r) { p->set_value(r); }); });
    return p->get_future().share();
  }
  std::shared_future<Result> start_host(const std::string& name) {
    auto p = std::make_shared<std::promise<Result>>();
    call([&] { resolver_->resolve_host(name, [p](const Result& r) { p->set_value(r); }); });
    return p->get_future().share();
  }
  static Result wait(std::shared_future<Result> f) {
    if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
      Result r;
      r.error = "TEST: no callback within 30 s";
      return r;
    }
    return f.get();
  }

  ResolverStats stats() {
    ResolverStats s;
    call([&] { s = resolver_->stats(); });
    return s;
  }
  Resolver& resolver() { return *resolver_; }  // reactor thread only
  void destroy_resolver() { resolver_.reset(); }  // reactor thread only
  engine::Reactor& reactor() { return *reactor_; }

 private:
  std::unique_ptr<engine::Reactor> reactor_;
  std::unique_ptr<Resolver> resolver_;
  std::thread thread_;
};

// Addresses of a host as "ip" strings, in result order.
inline std::vector<std::string> ips(const MxHost& h) {
  std::vector<std::string> out;
  for (const auto& a : h.addresses) out.push_back(a.ip());
  return out;
}
inline std::vector<std::string> names(const Result& r) {
  std::vector<std::string> out;
  for (const auto& h : r.hosts) out.push_back(h.name);
  return out;
}

}  // namespace ringmta::dns::testing
