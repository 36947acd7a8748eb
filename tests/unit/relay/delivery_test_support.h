// tests/unit/relay/delivery_test_support.h — harness for the delivery
// agent tests: a Reactor on its own thread, a real SMTP server on loopback
// built from engine + smtp::ServerSession (counts connections, records
// messages, can misbehave on purpose), the agent running on its own reactor
// thread, and child processes (dnsmasq, smtp-sink) stopped by PID. The
// server speaks STARTTLS with a tls::ServerContext when given one (and can
// refuse it or break the handshake on purpose).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <poll.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../engine/test_util.h"
#include "engine/reactor.h"
#include "tests/unit/child_process.h"
#include "proto/smtp/server_session.h"
#include "config/config.h"
#include "relay/delivery_agent.h"
#include "relay/routing.h"
#include "tls/tls.h"

namespace ringmta::relay::testing {

using namespace std::chrono_literals;

// A Reactor on a thread of its own and bounded polling: the engine tests' helpers.
using engine::test::ReactorThread;
using engine::test::wait_until;

// A TCP port on `ip` that nothing listens on, held for the life of the test
// binary: a bound, never-listening socket stays open on it (its fd is left
// open on purpose), so no other bind(0) — here or in a test running in
// parallel — gets the same number and a connect to it is refused. It has
// SO_REUSEADDR and SO_REUSEPORT, so a server of this test (TestServer's
// engine listener, dnsmasq, smtp-sink: all set SO_REUSEADDR) can still bind
// and listen on it. (A port picked and let go could be anyone's a moment
// later: once a "dead" relayhost port was the daemon's own listener.)
inline uint16_t unused_port(const char* ip = "127.0.0.1") {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &sin.sin_addr);
  socklen_t len = sizeof sin;
  bind(fd, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sin), &len);
  return ntohs(sin.sin_port);
}

// True once a DNS server answers on udp 127.0.0.1:port: an A query for a
// name it knows (bounded wait).
inline bool wait_for_dns(uint16_t port) {
  // "marker.test" A query, hand-built: id 0x4242, RD, one question.
  const unsigned char q[] = {0x42, 0x42, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                             6,    'm',  'a',  'r',  'k',  'e',  'r',  4,    't',  'e',  's',  't',
                             0,    0x00, 0x01, 0x00, 0x01};
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
  bool up = false;
  for (int i = 0; i < 100 && !up; ++i) {
    sendto(fd, q, sizeof q, 0, reinterpret_cast<sockaddr*>(&sin), sizeof sin);
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) == 1) {
      char buf[512];
      up = recv(fd, buf, sizeof buf, 0) > 0;
    }
  }
  close(fd);
  return up;
}

struct ServerOptions {
  std::string ip = "127.0.0.2";
  uint16_t port = 0;                 // 0: any free port
  std::string hostname = "sink.test"; // in the 220 greeting and the EHLO reply
  std::string greeting;              // set: sent instead of the 220; then "221" to anything and close
  std::chrono::milliseconds greeting_delay{0};  // with `greeting`: sent this long after the accept
  bool silent = false;               // accept, never say a word
  std::vector<std::string> local_domains{"ok.example"};  // other domains: 550 5.7.1 (untrusted client)
  std::chrono::milliseconds commit_delay{0};              // hold the end-of-data reply this long
  bool drop_after_message = false;   // abort on any input after the connection's first message
  std::shared_ptr<tls::ServerContext> tls;  // set: EHLO offers STARTTLS with this certificate
  std::string starttls_reply;        // set: STARTTLS is answered with this line instead (e.g. "454 ...")
  bool break_tls = false;            // after STARTTLS's 220, answer the ClientHello with garbage
};

struct Received {
  std::string sender;
  std::vector<std::string> recipients;
  std::string message;  // as stored: the server's Received: line, then the client's bytes
  int connection = 0;
  std::string tls;      // "TLS1.3 <cipher>" when the message came over TLS, else ""
};

// A real SMTP server (smtp::ServerSession on an engine reactor) on loopback.
class TestServer {
 public:
  explicit TestServer(ServerOptions o) : opts_(std::move(o)) {
    config_ = std::make_shared<smtp::ServerConfig>();
    config_->hostname = opts_.hostname;
    config_->local_domains = opts_.local_domains;
    port_ = rt_.call([this] {
      engine::ListenerSpec spec;
      spec.address = *engine::SocketAddress::from_ip(opts_.ip, opts_.port);
      spec.factory = [this](engine::Connection&) { return make_handler(); };
      int rc = rt_.reactor().add_listener(spec);
      EXPECT_EQ(rc, 0) << "listen on " << opts_.ip << ":" << opts_.port;
      auto addrs = rt_.reactor().listening_addresses();
      return addrs.empty() ? uint16_t{0} : addrs.back().port();
    });
  }
  ~TestServer() { rt_.stop(); }

  uint16_t port() const { return port_; }
  int connections() const { return connections_; }
  int current() const { return current_; }
  int max_concurrent() const { return max_current_; }
  int tls_handshakes() const { return tls_handshakes_; }  // completed
  std::string last_tls_error() {
    std::lock_guard lock(mu_);
    return tls_error_;
  }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }
  size_t message_count() {
    std::lock_guard lock(mu_);
    return received_.size();
  }

 private:
  struct Conn {
    engine::Connection* c = nullptr;
    std::unique_ptr<smtp::ServerSession> session;
    std::unique_ptr<tls::Session> tls;
    std::string tls_text;
    int number = 0;
    int messages = 0;
    bool closed = false;
  };

  struct Handler : engine::ConnectionHandler {
    TestServer* server;
    std::shared_ptr<Conn> st = std::make_shared<Conn>();
    void on_open(engine::Connection& c) override { server->opened(st, c); }
    void on_data(engine::Connection&, std::string_view b) override { server->data(st, b); }
    void on_closed(engine::Connection&, int) override {
      st->closed = true;
      server->current_--;
    }
  };

  std::unique_ptr<engine::ConnectionHandler> make_handler() {
    auto h = std::make_unique<Handler>();
    h->server = this;
    return h;
  }

  void opened(const std::shared_ptr<Conn>& conn, engine::Connection& c) {
    Conn& st = *conn;
    st.c = &c;
    st.number = ++connections_;
    int now = ++current_;
    if (now > max_current_) max_current_ = now;
    if (opts_.silent) return;
    if (!opts_.greeting.empty() && opts_.greeting_delay.count() > 0) {
      rt_.reactor().add_timer(opts_.greeting_delay, [this, conn] {
        if (!conn->closed) conn->c->send(opts_.greeting + "\r\n");
      });
      return;
    }
    if (!opts_.greeting.empty()) {
      c.send(opts_.greeting + "\r\n");
      return;
    }
    smtp::Hooks hooks;
    hooks.new_queue_id = [n = std::make_shared<int>(0)] { return "Q" + std::to_string(++*n); };
    hooks.now_unix = [] { return int64_t(::time(nullptr)); };
    smtp::ClientInfo info{"127.0.0.1", false};
    info.starttls_available = opts_.tls != nullptr;
    st.session = std::make_unique<smtp::ServerSession>(config_, info, hooks);
    st.session->start();
    c.send(st.session->take_output());
  }

  void data(const std::shared_ptr<Conn>& st, std::string_view bytes) {
    if (opts_.silent) return;
    if (!st->session) {  // greeting-only server: whatever comes, say goodbye
      st->c->send("221 2.0.0 bye\r\n");
      st->c->close();
      return;
    }
    if (opts_.drop_after_message && st->messages > 0) {
      st->c->abort();  // as if the server had timed the idle connection out
      return;
    }
    if (st->tls) return tls_data(st, bytes);
    if (!opts_.starttls_reply.empty() && bytes == "STARTTLS\r\n") {
      st->c->send(opts_.starttls_reply + "\r\n");
      return;
    }
    act(st, st->session->feed(bytes));
  }

  void tls_data(const std::shared_ptr<Conn>& st, std::string_view bytes) {
    if (opts_.break_tls) {
      st->c->send("this is not a TLS record\r\n");
      st->c->close();
      return;
    }
    const bool was_open = st->tls->handshake_done();
    std::string plain;
    const auto state = st->tls->feed(bytes, plain);
    if (st->tls->has_output()) st->c->send(st->tls->take_output());
    if (state == tls::Session::State::Failed) {
      {
        std::lock_guard lock(mu_);
        tls_error_ = st->tls->error();
      }
      st->c->close();
      return;
    }
    if (!was_open && st->tls->handshake_done()) {
      ++tls_handshakes_;
      st->tls_text = tls::describe(*st->tls);
      act(st, st->session->tls_started(st->tls_text));
    }
    if (!plain.empty() && !st->closed) act(st, st->session->feed(plain));
  }

  // Session output: in clear, or through TLS once it is up.
  void send(const std::shared_ptr<Conn>& st, std::string out) {
    if (!st->tls) return st->c->send(std::move(out));
    if (!st->tls->handshake_done()) return;  // nothing of ours during the handshake
    st->tls->write(out);
    if (st->tls->has_output()) st->c->send(st->tls->take_output());
  }

  void act(const std::shared_ptr<Conn>& st, smtp::Action a) {
    for (;;) {
      if (st->closed) return;
      if (st->session->has_output()) send(st, st->session->take_output());
      if (a == smtp::Action::Close) return st->c->close();
      if (a == smtp::Action::StartTls) {  // the 220 went out in clear; the ClientHello comes next
        st->tls = opts_.tls->new_session();
        return;
      }
      if (a != smtp::Action::Commit) return;
      const smtp::Transaction& t = st->session->transaction();
      Received r{t.sender, {}, t.message, st->number, st->tls_text};
      for (const auto& rc : t.recipients) r.recipients.push_back(rc.address);
      {
        std::lock_guard lock(mu_);
        received_.push_back(std::move(r));
      }
      st->messages++;
      if (opts_.commit_delay.count() > 0) {
        rt_.reactor().add_timer(opts_.commit_delay, [this, st] {
          if (!st->closed) act(st, st->session->commit_done(true));
        });
        return;
      }
      a = st->session->commit_done(true);
    }
  }

  ServerOptions opts_;
  std::shared_ptr<smtp::ServerConfig> config_;
  std::mutex mu_;
  std::vector<Received> received_;
  std::atomic<int> connections_{0}, current_{0}, max_current_{0}, tls_handshakes_{0};
  std::string tls_error_;  // the last server-side handshake failure
  uint16_t port_ = 0;
  ReactorThread rt_;  // last: stopped first, before the state its callbacks use
};

// Defaults for the tests: short timeouts, hostname set, DNS only when asked.
inline config::Config test_config() {
  config::Config c;
  c.server.hostname = "relay.test";
  c.delivery.connect_timeout = 5s;
  c.delivery.command_timeout = 5s;
  c.delivery.data_timeout = 5s;
  c.dns.servers = {"127.0.0.1:1"};  // never used unless a test routes by MX
  c.dns.timeout = 3s;
  return c;
}

inline config::RouteTarget literal_target(const std::string& ip, uint16_t port) {
  config::RouteTarget t;
  t.host = ip;
  t.port = port;
  t.mx_lookup = false;
  t.text = "[" + ip + "]:" + std::to_string(port);
  return t;
}

inline DeliveryJob make_job(const std::string& id, std::vector<std::string> rcpts,
                            std::string body = "Subject: test\r\n\r\nhello\r\n") {
  DeliveryJob j;
  j.id = id;
  j.domain = mail::recipient_domain(rcpts.front());
  j.envelope.sender = "sender@src.example";
  for (uint32_t i = 0; i < rcpts.size(); ++i) {
    smtp::Recipient r;
    r.address = rcpts[i];
    j.envelope.recipients.push_back(r);
    j.indices.push_back(i);
  }
  j.body = std::make_shared<const std::string>(std::move(body));
  return j;
}

// The agent on its own reactor thread; results collected thread-safely.
class AgentHarness {
 public:
  explicit AgentHarness(const config::Config& config, unsigned shards = 1) {
    auto cfg = std::make_shared<const config::Config>(config);
    rt_.call([&] { agent_ = std::make_unique<DeliveryAgent>(rt_.reactor(), cfg, shards); });
  }
  ~AgentHarness() {
    rt_.call([&] { agent_.reset(); });
    rt_.stop();
  }

  void submit(DeliveryJob job) {
    rt_.call([&] {
      agent_->submit(std::move(job), [this](JobResult r) {
        std::lock_guard lock(mu_);
        results_.push_back(std::move(r));
        cv_.notify_all();
      });
    });
  }
  void shutdown() {
    rt_.call([&] { agent_->shutdown(); });
  }
  size_t open_connections() {
    return rt_.call([&] { return agent_->open_connections(); });
  }
  size_t queued_jobs() {
    return rt_.call([&] { return agent_->queued_jobs(); });
  }
  size_t forget_down(const std::string& domain = {}) {
    return rt_.call([&] { return agent_->forget_down_destinations(domain); });
  }
  size_t down_destinations() {
    return rt_.call([&] { return agent_->down_destinations(); });
  }
  // Waits (bounded) for the result of job `id`; nullopt on timeout.
  std::optional<JobResult> result(const std::string& id, std::chrono::milliseconds limit = 15000ms) {
    std::unique_lock lock(mu_);
    std::optional<JobResult> out;
    cv_.wait_for(lock, limit, [&] {
      for (auto& r : results_)
        if (r.id == id) {
          out = r;
          return true;
        }
      return false;
    });
    return out;
  }
  bool wait_results(size_t n, std::chrono::milliseconds limit = 30000ms) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return results_.size() >= n; });
  }
  std::vector<JobResult> results() {
    std::lock_guard lock(mu_);
    return results_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<JobResult> results_;
  ReactorThread rt_;
  std::unique_ptr<DeliveryAgent> agent_;
};

using ringmta::testing::ChildProcess;

}  // namespace ringmta::relay::testing
