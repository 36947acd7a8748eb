// engine/reactor.h — one io_uring event loop per shard thread (thread-per-core).
//
// A Reactor owns its ring, its listening sockets (one SO_REUSEPORT socket per
// listener per shard, multishot accept), its connections (multishot recv into a
// provided buffer ring; output gathered per loop iteration and sent in one write),
// its timers and a cross-shard mailbox (post()). Nothing here knows about SMTP:
// protocols plug in through ConnectionHandler. Every method except post() and
// stop() must be called on the reactor's own thread: the thread that first calls
// add_listener/connect/poll_fd/run (the io_uring is created lazily there, so a
// Reactor may be constructed on one thread and run on another).
//
// Callbacks may call any method, including close()/abort() of their own
// connection; on_closed() is never called from inside another callback of the
// same handler — it runs right after the current callback returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/address.h"

namespace ringmta::engine {

using Clock = std::chrono::steady_clock;
class Reactor;
class Connection;

// The protocol side of a connection. One handler per connection, created by the
// listener's factory (or connect()); destroyed by the reactor after on_closed().
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // Called once when the socket is ready (after accept / successful connect).
  virtual void on_open(Connection&) {}
  // Bytes received. The view is valid only during the call.
  virtual void on_data(Connection&, std::string_view bytes) = 0;
  // All output queued so far has been written to the socket.
  virtual void on_drained(Connection&) {}
  // The connection is gone (peer closed, error, or close()/abort() finished).
  // `error` is 0 for an orderly close (close(), peer EOF), otherwise a positive
  // errno: ECONNABORTED after abort(), ECANCELED when the reactor is destroyed,
  // the socket error (ECONNRESET, EPIPE...) otherwise. Called exactly once.
  virtual void on_closed(Connection&, int error) = 0;
};

using HandlerFactory = std::function<std::unique_ptr<ConnectionHandler>(Connection&)>;

class Connection {
 public:
  virtual ~Connection() = default;
  // Queue bytes; they are written (batched with other output of this loop
  // iteration) without further calls. Ignored after close()/abort().
  virtual void send(std::string_view bytes) = 0;
  virtual void send(std::string&& bytes) = 0;
  // Added: a string literal would otherwise be ambiguous between the two above.
  void send(const char* text) { send(std::string_view(text)); }
  // Write what is queued, then close the socket. on_closed() follows. Input that
  // arrives meanwhile is dropped; after the last byte is handed to the kernel the
  // socket lingers (FIN sent, input discarded) until the peer's EOF, at most 5 s,
  // so a peer that keeps talking cannot provoke a RST that discards our reply.
  virtual void close() = 0;
  // Close at once, dropping queued output. on_closed() follows.
  virtual void abort() = 0;
  // Flow control: stop / restart delivering on_data() (the kernel buffers meanwhile).
  virtual void pause_reading() = 0;
  virtual void resume_reading() = 0;

  virtual uint64_t id() const = 0;              // unique within the reactor
  virtual const SocketAddress& peer() const = 0;
  virtual const SocketAddress& local() const = 0;
  virtual int listener_tag() const = 0;          // ListenerSpec::tag, or -1 for outbound
  virtual size_t pending_output() const = 0;     // bytes queued but not yet written
  virtual Reactor& reactor() = 0;
};

struct ListenerSpec {
  SocketAddress address;
  int tag = 0;            // handed back through Connection::listener_tag()
  int backlog = 1024;
  // SO_SNDBUF of accepted sockets (set on the listener, which they inherit);
  // 0 = the kernel's autotuning. A protocol whose output is small replies
  // caps it, so clients that never read cannot make the kernel hold
  // megabytes of our output for each of them.
  int send_buffer = 0;
  HandlerFactory factory; // called on the reactor thread for each accepted socket
};

struct ReactorOptions {
  unsigned ring_entries = 4096;     // SQ size; CQ is twice that
  unsigned buffer_count = 1024;     // provided receive buffers per shard (power of two)
  unsigned buffer_size = 16384;     // bytes per provided buffer
};

using TimerId = uint64_t;

class Reactor {
 public:
  Reactor(unsigned shard_id, const ReactorOptions& options = {});
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  unsigned shard_id() const;

  // Open a SO_REUSEPORT listening socket for `spec` on this shard and start a
  // multishot accept. Returns 0 or a positive errno (e.g. EADDRINUSE).
  int add_listener(const ListenerSpec& spec);
  // Close all listening sockets (existing connections stay).
  void stop_accepting();
  // Bound addresses of the open listeners, in add_listener() order (added: lets
  // callers bind port 0 and learn the port, and log what was actually bound).
  std::vector<SocketAddress> listening_addresses() const;

  // Outbound connection. On success the handler from `factory` gets on_open();
  // on failure `on_error(errno)` is called instead (ECONNREFUSED, ETIMEDOUT...,
  // ECANCELED if the reactor is destroyed first), never from inside connect().
  // A zero timeout means none. listener_tag() is -1 for outbound connections.
  // `from` (optional, port 0): the local address to bind first
  // (delivery.source_address); a bind failure is reported like a connect failure.
  void connect(const SocketAddress& to, Clock::duration timeout, HandlerFactory factory,
               std::function<void(int error)> on_error, const SocketAddress* from = nullptr);

  // Watch an fd that is not a Connection (c-ares sockets). `events` is POLLIN /
  // POLLOUT; the callback gets the poll revents and fires until cancel_poll().
  // Level-triggered like poll(2): while the fd stays ready the callback fires again
  // (once per loop iteration). Never fires after cancel_poll() returns. Returns 0 if
  // the ring could not be set up. On a poll error the callback gets POLLERR|POLLNVAL
  // once and the watch goes quiet (cancel_poll() it).
  using PollId = uint64_t;
  PollId poll_fd(int fd, unsigned events, std::function<void(unsigned revents)> cb);
  void cancel_poll(PollId id);

  // One-shot timer on this shard. cancel_timer() returns false if it already fired.
  TimerId add_timer(Clock::duration after, std::function<void()> cb);
  bool cancel_timer(TimerId id);

  // Run `fn` on this reactor's thread. Safe from any thread (the cross-shard mailbox).
  void post(std::function<void()> fn);

  // Loop until stop(). Must be called on the thread that owns this reactor.
  void run();
  // Make run() return after the current iteration. Safe from any thread.
  void stop();

  size_t connection_count() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmta::engine
