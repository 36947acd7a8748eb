// engine/reactor_impl.h — private state of a Reactor (not part of the public API).
//
// Shared by reactor.cpp (loop, ring, timers, mailbox, listeners, polls, connect)
// and connection.cpp (per-connection recv/send/close state machine).
//
// Completions are matched to their owner through user_data, which never holds
// a pointer: it packs (op kind, slot index, slot generation) so a completion
// that arrives after its connection was closed and its slot reused is
// recognised and dropped instead of touching freed or foreign state.
#pragma once

#include <liburing.h>

#include <atomic>
#include <deque>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/reactor.h"

namespace ringmta::engine::detail {

// Operation kinds, stored in the top 8 bits of user_data.
enum class Op : uint8_t {
  kNone = 0,    // fire-and-forget SQEs (cancels, poll removes): completions ignored
  kWake = 1,    // eventfd read: the cross-thread mailbox has work
  kAccept = 2,  // payload: listener index
  kRecv = 3,    // payload: slot | generation
  kSend = 4,    // payload: slot | generation
  kConnect = 5, // payload: slot | generation
  kPoll = 6,    // payload: poll id
};

inline uint64_t make_ud(Op op, uint64_t payload) {
  return (static_cast<uint64_t>(op) << 56) | (payload & ((uint64_t{1} << 56) - 1));
}
inline Op ud_op(uint64_t ud) { return static_cast<Op>(ud >> 56); }
inline uint64_t ud_payload(uint64_t ud) { return ud & ((uint64_t{1} << 56) - 1); }
// Slot payloads: 24 bits of slot index, 32 bits of generation.
inline uint64_t slot_payload(uint32_t slot, uint32_t gen) {
  return (static_cast<uint64_t>(slot & 0xffffff) << 32) | gen;
}
inline uint32_t payload_slot(uint64_t p) { return static_cast<uint32_t>(p >> 32) & 0xffffff; }
inline uint32_t payload_gen(uint64_t p) { return static_cast<uint32_t>(p); }

struct ReactorImpl;

enum class ConnState : uint8_t {
  kConnecting,  // outbound, connect in flight, no handler yet
  kOpen,
  kClosing,     // close() called (or peer EOF): flushing output, then shut
  kClosed,      // socket closed; on_closed pending or done; slot freed when ops drain
};

// Outbound-only data, kept out of line so inbound connections stay small.
struct ConnectCtx {
  HandlerFactory factory;
  std::function<void(int)> on_error;
  TimerId timer = 0;
  bool timed_out = false;
};

class ConnImpl final : public Connection {
 public:
  ConnImpl(ReactorImpl* r, uint32_t slot, uint32_t gen, int fd, int tag, uint64_t id);
  ~ConnImpl() override;

  // Connection API.
  using Connection::send;
  void send(std::string_view bytes) override;
  void send(std::string&& bytes) override;
  void close() override;
  void abort() override;
  void pause_reading() override;
  void resume_reading() override;
  uint64_t id() const override { return id_; }
  const SocketAddress& peer() const override { return peer_; }
  const SocketAddress& local() const override { return local_; }
  int listener_tag() const override { return tag_; }
  size_t pending_output() const override;
  Reactor& reactor() override;

  // Engine side.
  void on_recv_cqe(int res, uint32_t flags);
  void on_send_cqe(int res);
  void on_connect_cqe(int res);
  void flush();            // end-of-iteration work: stash delivery, recv re-arm, send
  void shut(int error);    // close the socket now; on_closed(error) is queued
  void mark_dirty();
  void start_open();       // handler attached: on_open + recv arming
  void linger();           // orderly close with the peer possibly still sending
  void arm_linger_recv();
  void end_linger();
  void on_linger_recv(int res, bool more);

  ReactorImpl* r_;
  std::unique_ptr<ConnectionHandler> handler_;
  std::unique_ptr<ConnectCtx> connect_;
  std::string sending_;    // bytes handed to the kernel (immutable while a send is in flight)
  std::string queued_;     // bytes queued since the last send was prepared
  std::string stash_;      // received while paused / before a re-arm: delivered on resume
  SocketAddress peer_;
  SocketAddress local_;
  uint64_t id_;
  size_t sent_off_ = 0;    // bytes of sending_ already written
  TimerId linger_timer_ = 0;
  int fd_;
  int tag_;
  int close_error_ = 0;
  uint32_t slot_;
  uint32_t gen_;
  uint8_t inflight_ = 0;   // SQEs whose completion we still expect (recv, send, connect)
  ConnState state_;
  bool recv_armed_ = false;
  bool send_inflight_ = false;
  bool paused_ = false;
  // Paused at least once: from then on one plain recv at a time instead of
  // the multishot one. A multishot recv re-armed on resume hands over all
  // the kernel has buffered (one completion per provided buffer) before a
  // new pause can stop it, and all of that would wait in stash_: a client
  // that keeps us pausing could move its whole socket receive buffer into
  // our memory each time. One recv brings at most one buffer.
  bool single_shot_ = false;
  bool peer_eof_ = false;
  bool dirty_ = false;
  bool closed_reported_ = false;
  bool lingering_ = false; // closed for the handler; fd open, discarding input until EOF

  uint64_t recv_ud() const { return make_ud(Op::kRecv, slot_payload(slot_, gen_)); }
  uint64_t send_ud() const { return make_ud(Op::kSend, slot_payload(slot_, gen_)); }
  uint64_t connect_ud() const { return make_ud(Op::kConnect, slot_payload(slot_, gen_)); }
};

struct Listener {
  int fd = -1;
  int tag = 0;
  bool armed = false;
  bool rearm_pending = false;
  HandlerFactory factory;
  SocketAddress bound;
};

struct PollEntry {
  int fd;
  unsigned events;
  std::function<void(unsigned)> cb;
  bool armed = false;
  bool failed = false;
};

struct TimerEntry {
  Clock::time_point when;
  TimerId id;
  bool operator>(const TimerEntry& o) const {
    return when != o.when ? when > o.when : id > o.id;
  }
};

struct ReactorImpl {
  ReactorImpl(Reactor* self, unsigned shard, const ReactorOptions& opts);
  ~ReactorImpl();

  // Ring.
  int ensure_ring();                 // lazily set up on the owning thread; 0 or errno
  io_uring_sqe* sqe();               // never null once the ring exists
  void cancel_ud(uint64_t ud);
  void recycle_buffer(uint32_t bid);
  void run();
  void dispatch(uint64_t ud, int res, uint32_t flags);
  void reap();                       // on_closed for shut connections, free drained slots
  void flush();                      // end-of-iteration: queue all SQEs
  void fire_timers();
  void drain_mailbox();

  // Connections.
  ConnImpl* lookup(uint64_t payload);
  ConnImpl* new_conn(int fd, int tag);
  void free_slot(ConnImpl* c);
  void accept_one(size_t index, int fd);
  void fire_poll(uint64_t id, unsigned revents);
  void refire_poll(uint64_t id);
  void on_accept_cqe(size_t index, int res, uint32_t flags);
  void on_poll_cqe(uint64_t id, int res, uint32_t flags);
  void arm_poll(uint64_t id, PollEntry& p);

  Reactor* self;
  unsigned shard_id;
  ReactorOptions opts;
  io_uring ring{};
  io_uring_sqe scratch_sqe{};        // see sqe(): target for ops that cannot be queued
  bool ring_ready = false;
  int ring_error = 0;
  bool on_owner_thread() const;
  unsigned long owner_thread = 0;

  // Provided receive buffers (group 0).
  io_uring_buf_ring* buf_ring = nullptr;
  size_t buf_ring_bytes = 0;
  char* buffers = nullptr;
  size_t buffers_bytes = 0;
  unsigned buf_mask = 0;

  // Connections by slot.
  std::vector<std::unique_ptr<ConnImpl>> slots;
  std::vector<uint32_t> slot_gen;
  std::vector<uint32_t> free_slots;
  std::vector<ConnImpl*> dirty;          // need flush() this iteration
  std::vector<ConnImpl*> shut_pending;   // on_closed not yet delivered / slot not yet freed
  size_t live_connections = 0;
  uint64_t next_conn_id = 1;

  std::deque<Listener> listeners;  // deque: stable while a factory adds listeners

  // Polls.
  std::unordered_map<uint64_t, std::unique_ptr<PollEntry>> polls;
  std::vector<uint64_t> poll_rearm;
  std::vector<uint64_t> poll_refire;     // still ready after the callback (level semantics)
  std::vector<std::unique_ptr<PollEntry>> poll_graveyard;
  uint64_t next_poll_id = 1;

  // Timers: min-heap with lazy deletion (cancelled ids are absent from the map).
  std::vector<TimerEntry> heap;
  std::unordered_map<TimerId, std::function<void()>> timers;
  TimerId next_timer_id = 1;
  TimerId add_timer(Clock::duration after, std::function<void()> cb);
  bool cancel_timer(TimerId id);

  // Internal work to run at the next safe point (e.g. connect errors), never re-entrantly.
  std::vector<std::function<void()>> deferred;

  // Cross-thread mailbox.
  std::mutex mbox_mu;
  std::vector<std::function<void()>> mailbox;
  int event_fd = -1;
  uint64_t event_buf = 0;
  bool wake_armed = false;
  std::atomic<bool> stop_requested{false};
  bool tearing_down = false;
};

}  // namespace ringmta::engine::detail

namespace ringmta::engine {
// The pimpl named in reactor.h is the detail state itself.
struct Reactor::Impl : detail::ReactorImpl {
  using detail::ReactorImpl::ReactorImpl;
};
}  // namespace ringmta::engine
