// tests/unit/engine/test_util.h — helpers for engine tests: a Reactor running on
// its own thread, a callback-driven handler, and blocking loopback client sockets
// (with receive timeouts so a broken engine fails the test instead of hanging it).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "engine/reactor.h"
#include "engine/shard_group.h"

namespace ringmta::engine::test {

using namespace std::chrono_literals;

// True if this kernel/sandbox lets us create an io_uring at all. Probed once, on
// a throwaway thread: tearing a ring down queues task work (TWA_SIGNAL) to the
// tasks that used it, which shows up as EINTR in their blocking syscalls.
inline bool uring_available() {
  static const bool ok = [] {
    int rc = 0;
    std::thread([&] {
      io_uring ring;
      rc = io_uring_queue_init(8, &ring, 0);
      if (rc == 0) io_uring_queue_exit(&ring);
    }).join();
    return !(rc == -ENOSYS || rc == -EPERM);
  }();
  return ok;
}

#define SKIP_WITHOUT_URING() \
  if (!::ringmta::engine::test::uring_available()) GTEST_SKIP() << "io_uring not available"

// A handler built from lambdas; unset ones do nothing (on_data: nothing).
struct FnHandler : ConnectionHandler {
  std::function<void(Connection&)> open, drained;
  std::function<void(Connection&, std::string_view)> data;
  std::function<void(Connection&, int)> closed;
  void on_open(Connection& c) override {
    if (open) open(c);
  }
  void on_data(Connection& c, std::string_view b) override {
    if (data) data(c, b);
  }
  void on_drained(Connection& c) override {
    if (drained) drained(c);
  }
  void on_closed(Connection& c, int e) override {
    if (closed) closed(c, e);
  }
};

// Counts lifecycle events across all connections of a test.
struct Stats {
  std::atomic<int> opened{0};
  std::atomic<int> closed{0};
  std::atomic<int> last_error{-1};
};

inline std::unique_ptr<ConnectionHandler> echo_handler(Stats* st) {
  auto h = std::make_unique<FnHandler>();
  h->open = [st](Connection&) { st->opened++; };
  h->data = [](Connection& c, std::string_view b) { c.send(b); };
  h->closed = [st](Connection&, int e) {
    st->last_error = e;
    st->closed++;
  };
  return h;
}

// A Reactor running on a thread of its own; call() runs a function there and waits.
class ReactorThread {
 public:
  explicit ReactorThread(ReactorOptions opts = {}) : reactor_(std::make_unique<Reactor>(0, opts)) {
    thread_ = std::thread([this] { reactor_->run(); });
  }
  ~ReactorThread() { stop(); }
  Reactor& reactor() { return *reactor_; }
  void stop() {
    if (thread_.joinable()) {
      reactor_->stop();
      thread_.join();
    }
  }
  // Runs fn on the reactor thread and returns its result (fails after 10 s).
  template <class F>
  auto call(F fn) -> decltype(fn()) {
    using R = decltype(fn());
    auto p = std::make_shared<std::promise<R>>();
    auto fut = p->get_future();
    reactor_->post([p, fn]() mutable {
      if constexpr (std::is_void_v<R>) {
        fn();
        p->set_value();
      } else {
        p->set_value(fn());
      }
    });
    if (fut.wait_for(10s) != std::future_status::ready) {
      ADD_FAILURE() << "reactor did not run the call";
      std::abort();
    }
    return fut.get();
  }
  // Adds a listener on 127.0.0.1:0 and returns its port.
  uint16_t listen(HandlerFactory f, int tag = 0, int backlog = 4096) {
    return call([&] {
      ListenerSpec spec;
      spec.address = *SocketAddress::parse("127.0.0.1:0");
      spec.tag = tag;
      spec.backlog = backlog;
      spec.factory = f;
      int rc = reactor_->add_listener(spec);
      EXPECT_EQ(rc, 0);
      auto addrs = reactor_->listening_addresses();
      return addrs.empty() ? uint16_t{0} : addrs.back().port();
    });
  }

 private:
  std::unique_ptr<Reactor> reactor_;
  std::thread thread_;
};

// Waits (bounded) until pred() holds.
template <class P>
bool wait_until(P pred, std::chrono::milliseconds limit = 10000ms) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

// Blocking client connected to 127.0.0.1:port, 10 s receive/send timeouts.
inline int connect_client(uint16_t port, const char* ip = "127.0.0.1") {
  bool v6 = std::strchr(ip, ':') != nullptr;
  int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  auto addr = SocketAddress::from_ip(ip, port);
  int rc = ::connect(fd, addr->data(), addr->size());
  if (rc != 0 && errno == EINTR) {
    // Interrupted (see uring_available): the handshake goes on; wait for it.
    pollfd pfd{fd, POLLOUT, 0};
    while (::poll(&pfd, 1, 10000) < 0 && errno == EINTR) {
    }
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    ADD_FAILURE() << "connect to port " << port << ": " << std::strerror(errno);
    ::close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

// Reads exactly n bytes (fewer on EOF/error/timeout).
inline std::string recv_exact(int fd, size_t n) {
  std::string out;
  out.resize(n);
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::recv(fd, out.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += size_t(r);
  }
  out.resize(got);
  return out;
}

// Reads until EOF; *eof says whether a clean EOF (not error/timeout) ended it.
inline std::string recv_until_eof(int fd, bool* eof = nullptr) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof(buf), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (eof) *eof = true;
      break;
    }
    if (r < 0) {
      if (eof) *eof = false;
      break;
    }
    out.append(buf, size_t(r));
  }
  return out;
}

// Deterministic test payload and a cheap checksum (FNV-1a).
inline std::string pattern(size_t n, uint32_t seed = 1) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    s[i] = static_cast<char>(x);
  }
  return s;
}

inline uint64_t fnv(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Raise the descriptor limit to the hard limit; returns the soft limit now in effect.
inline rlim_t raise_nofile() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  getrlimit(RLIMIT_NOFILE, &rl);
  return rl.rlim_cur;
}

}  // namespace ringmta::engine::test
