// engine/reactor.cpp — the io_uring event loop: ring setup, the loop, timers,
// the cross-thread mailbox and the Reactor facade.
//
// One iteration: queue every SQE the previous callbacks asked for (flush), submit
// them all with one io_uring_submit_and_wait_timeout that also sleeps until the
// nearest timer, dispatch the completions, fire due timers. Listeners, polls and
// connect live in reactor_io.cpp; the connection state machine in connection.cpp.
#include "engine/reactor.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/reactor_impl.h"

namespace ringmta::engine {
namespace detail {

namespace {
// At most this many completions are handled before timers get a look in.
constexpr unsigned kMaxCqesPerIteration = 4096;
}  // namespace

ReactorImpl::ReactorImpl(Reactor* s, unsigned shard, const ReactorOptions& o)
    : self(s), shard_id(shard), opts(o) {
  // The eventfd exists from the start so post() works before the ring does.
  // Blocking: only io_uring reads it (an O_NONBLOCK file can make io_uring return
  // EAGAIN instead of waiting), and a write blocks only at a counter of 2^64-2.
  event_fd = ::eventfd(0, EFD_CLOEXEC);
}

bool ReactorImpl::on_owner_thread() const {
  return ring_ready && owner_thread == static_cast<unsigned long>(pthread_self());
}

// Sets the ring up on the calling thread, which becomes the owner. Setup flags
// the kernel refuses are dropped one group at a time.
int ReactorImpl::ensure_ring() {
  if (ring_ready) return 0;
  if (ring_error) return ring_error;
  const unsigned flag_sets[] = {
      IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SUBMIT_ALL,
      0,
  };
  int rc = -EINVAL;
  for (unsigned flags : flag_sets) {
    io_uring_params p{};
    p.flags = flags | IORING_SETUP_CQSIZE;
    p.cq_entries = opts.ring_entries * 2;
    rc = io_uring_queue_init_params(opts.ring_entries, &ring, &p);
    if (rc == 0) break;
    if (rc == -ENOSYS || rc == -EPERM || rc == -ENOMEM) break;
  }
  if (rc < 0) {
    ring_error = -rc;
    return ring_error;
  }

  // Provided buffer ring, group 0. liburing 2.3 has no io_uring_setup_buf_ring.
  unsigned count = opts.buffer_count;
  if (count == 0 || (count & (count - 1)) != 0 || count > 32768) count = 1024;
  buf_ring_bytes = sizeof(io_uring_buf) * count;
  void* br = ::mmap(nullptr, buf_ring_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                    -1, 0);
  buffers_bytes = size_t(count) * opts.buffer_size;
  // mmap, not the heap: a straggling kernel write after teardown faults instead of corrupting.
  void* bufs = ::mmap(nullptr, buffers_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (br == MAP_FAILED || bufs == MAP_FAILED) {
    if (br != MAP_FAILED) ::munmap(br, buf_ring_bytes);
    if (bufs != MAP_FAILED) ::munmap(bufs, buffers_bytes);
    io_uring_queue_exit(&ring);
    ring_error = ENOMEM;
    return ring_error;
  }
  buf_ring = static_cast<io_uring_buf_ring*>(br);
  buffers = static_cast<char*>(bufs);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring);
  reg.ring_entries = count;
  reg.bgid = 0;
  rc = io_uring_register_buf_ring(&ring, &reg, 0);
  if (rc < 0) {
    ::munmap(buf_ring, buf_ring_bytes);
    ::munmap(buffers, buffers_bytes);
    buf_ring = nullptr;
    buffers = nullptr;
    io_uring_queue_exit(&ring);
    ring_error = -rc;
    return ring_error;
  }
  opts.buffer_count = count;
  io_uring_buf_ring_init(buf_ring);
  buf_mask = static_cast<unsigned>(io_uring_buf_ring_mask(count));
  for (unsigned i = 0; i < count; i++)
    io_uring_buf_ring_add(buf_ring, buffers + size_t(i) * opts.buffer_size, opts.buffer_size,
                          static_cast<unsigned short>(i), static_cast<int>(buf_mask),
                          static_cast<int>(i));
  io_uring_buf_ring_advance(buf_ring, static_cast<int>(count));
  ring_ready = true;
  owner_thread = static_cast<unsigned long>(pthread_self());
  return 0;
}

io_uring_sqe* ReactorImpl::sqe() {
  io_uring_sqe* s = io_uring_get_sqe(&ring);
  // SQ full mid-iteration: push what we have to make room. Off the owner thread
  // (teardown from another thread) a single-issuer ring refuses submits, so don't try.
  for (int tries = 0; s == nullptr && tries < 4 && on_owner_thread(); tries++) {
    io_uring_submit(&ring);
    s = io_uring_get_sqe(&ring);
  }
  if (s == nullptr) {
    // Nowhere to put it: the op is dropped (only reachable at teardown or if the
    // kernel refuses submissions). A scratch SQE keeps callers simple.
    std::memset(&scratch_sqe, 0, sizeof(scratch_sqe));
    s = &scratch_sqe;
  }
  return s;
}

void ReactorImpl::cancel_ud(uint64_t ud) {
  if (!ring_ready) return;
  io_uring_sqe* s = sqe();
  io_uring_prep_cancel64(s, ud, 0);
  io_uring_sqe_set_data64(s, make_ud(Op::kNone, 0));
}

void ReactorImpl::recycle_buffer(uint32_t bid) {
  io_uring_buf_ring_add(buf_ring, buffers + size_t(bid) * opts.buffer_size, opts.buffer_size,
                        static_cast<unsigned short>(bid), static_cast<int>(buf_mask), 0);
  io_uring_buf_ring_advance(buf_ring, 1);
}

ConnImpl* ReactorImpl::lookup(uint64_t payload) {
  uint32_t slot = payload_slot(payload);
  if (slot >= slots.size() || !slots[slot] || slot_gen[slot] != payload_gen(payload))
    return nullptr;
  return slots[slot].get();
}

ConnImpl* ReactorImpl::new_conn(int fd, int tag) {
  uint32_t slot;
  if (!free_slots.empty()) {
    slot = free_slots.back();
    free_slots.pop_back();
  } else {
    slot = static_cast<uint32_t>(slots.size());
    slots.emplace_back();
    slot_gen.push_back(0);
  }
  slots[slot] = std::make_unique<ConnImpl>(this, slot, slot_gen[slot], fd, tag, next_conn_id++);
  return slots[slot].get();
}

void ReactorImpl::free_slot(ConnImpl* c) {
  uint32_t slot = c->slot_;
  slot_gen[slot]++;  // late completions for the old generation are now unrecognisable
  slots[slot].reset();
  free_slots.push_back(slot);
}

// Delivers on_closed for connections shut since the last call and frees the
// slots whose kernel operations have all completed. Runs only where no handler
// callback is on the stack.
void ReactorImpl::reap() {
  size_t i = 0;
  while (i < shut_pending.size()) {
    ConnImpl* c = shut_pending[i];
    if (!c->closed_reported_) {
      c->closed_reported_ = true;
      if (c->handler_) {
        c->handler_->on_closed(*c, c->close_error_);  // may shut others: appended, seen later
        c->handler_.reset();
      }
    }
    // Still listed in `dirty` (e.g. send() then abort()): flush() must see it first.
    if (c->inflight_ == 0 && !c->dirty_ && !c->lingering_) {
      shut_pending[i] = shut_pending.back();
      shut_pending.pop_back();
      free_slot(c);
    } else {
      i++;
    }
  }
  poll_graveyard.clear();
}

void ReactorImpl::dispatch(uint64_t ud, int res, uint32_t flags) {
  switch (ud_op(ud)) {
    case Op::kNone:
      break;
    case Op::kWake:
      wake_armed = false;
      drain_mailbox();
      break;
    case Op::kAccept:
      on_accept_cqe(ud_payload(ud), res, flags);
      break;
    case Op::kRecv: {
      ConnImpl* c = lookup(ud_payload(ud));
      if (c) c->on_recv_cqe(res, flags);
      // The buffer goes back to the ring right after on_data returned.
      if (flags & IORING_CQE_F_BUFFER) recycle_buffer(flags >> IORING_CQE_BUFFER_SHIFT);
      break;
    }
    case Op::kSend:
      if (ConnImpl* c = lookup(ud_payload(ud))) c->on_send_cqe(res);
      break;
    case Op::kConnect:
      if (ConnImpl* c = lookup(ud_payload(ud))) c->on_connect_cqe(res);
      break;
    case Op::kPoll:
      on_poll_cqe(ud_payload(ud), res, flags);
      break;
  }
}

void ReactorImpl::drain_mailbox() {
  std::vector<std::function<void()>> work;
  {
    std::lock_guard lock(mbox_mu);
    work.swap(mailbox);
  }
  for (auto& fn : work) {
    fn();
    reap();
  }
}

TimerId ReactorImpl::add_timer(Clock::duration after, std::function<void()> cb) {
  TimerId id = next_timer_id++;
  timers.emplace(id, std::move(cb));
  heap.push_back({Clock::now() + after, id});
  std::push_heap(heap.begin(), heap.end(), std::greater<>{});
  // Cancelled entries stay in the heap until due; compact when they dominate.
  if (heap.size() > 1024 && heap.size() > 4 * timers.size()) {
    std::erase_if(heap, [&](const TimerEntry& e) { return !timers.count(e.id); });
    std::make_heap(heap.begin(), heap.end(), std::greater<>{});
  }
  return id;
}

bool ReactorImpl::cancel_timer(TimerId id) { return timers.erase(id) > 0; }

void ReactorImpl::fire_timers() {
  Clock::time_point now = Clock::now();
  // Timers added by callbacks get a deadline after `now`: they wait for the next round.
  while (!heap.empty() && heap.front().when <= now) {
    TimerId id = heap.front().id;
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    heap.pop_back();
    auto it = timers.find(id);
    if (it == timers.end()) continue;  // cancelled
    auto cb = std::move(it->second);
    timers.erase(it);
    cb();
    reap();
  }
}

// End of iteration: every connection, listener and poll that needs an SQE gets it.
void ReactorImpl::flush() {
  // Connections may mark others dirty while flushing (a handler reacting to a
  // resumed stash): loop until quiet, bounded so a pathological handler cannot spin.
  for (int round = 0; round < 16 && !dirty.empty(); round++) {
    std::vector<ConnImpl*> work;
    work.swap(dirty);
    for (ConnImpl* c : work) {
      c->flush();
      reap();
    }
  }
  for (size_t i = 0; i < listeners.size(); i++) {
    Listener& l = listeners[i];
    if (!l.rearm_pending || l.fd < 0) continue;
    l.rearm_pending = false;
    if (l.armed) continue;
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, make_ud(Op::kAccept, i));
    l.armed = true;
  }
  std::vector<uint64_t> rearm;
  rearm.swap(poll_rearm);
  for (uint64_t id : rearm) {
    auto it = polls.find(id);
    if (it != polls.end() && !it->second->armed && !it->second->failed) arm_poll(id, *it->second);
  }
  if (!wake_armed && event_fd >= 0) {
    io_uring_sqe* s = sqe();
    io_uring_prep_read(s, event_fd, &event_buf, sizeof(event_buf), 0);
    io_uring_sqe_set_data64(s, make_ud(Op::kWake, 0));
    wake_armed = true;
  }
}

void ReactorImpl::run() {
  if (ensure_ring() != 0) return;
  // The ring belongs to the thread that first used it (see reactor.h); running it
  // elsewhere would only spin on refused submissions.
  if ((ring.flags & IORING_SETUP_SINGLE_ISSUER) && !on_owner_thread()) return;
  drain_mailbox();
  while (!stop_requested.load(std::memory_order_acquire)) {
    // Internal deferred work (connect failures detected at call time).
    while (!deferred.empty()) {
      std::vector<std::function<void()>> work;
      work.swap(deferred);
      for (auto& fn : work) {
        fn();
        reap();
      }
    }
    flush();

    __kernel_timespec ts{};
    __kernel_timespec* tsp = nullptr;
    bool busy = !poll_refire.empty() || !deferred.empty() || !dirty.empty();
    while (!heap.empty() && !timers.count(heap.front().id)) {
      std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
      heap.pop_back();
    }
    if (busy) {
      tsp = &ts;
    } else if (!heap.empty()) {
      auto wait = heap.front().when - Clock::now();
      if (wait < Clock::duration::zero()) wait = Clock::duration::zero();
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(wait).count();
      ts.tv_sec = ns / 1000000000;
      ts.tv_nsec = ns % 1000000000;
      tsp = &ts;
    }
    io_uring_cqe* cqe = nullptr;
    int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, tsp, nullptr);
    (void)rc;  // -ETIME / -EINTR just mean "nothing yet"

    for (unsigned n = 0; n < kMaxCqesPerIteration; n++) {
      if (io_uring_peek_cqe(&ring, &cqe) != 0 || cqe == nullptr) break;
      uint64_t ud = cqe->user_data;
      int res = cqe->res;
      uint32_t flags = cqe->flags;
      io_uring_cqe_seen(&ring, cqe);
      if (ud == LIBURING_UDATA_TIMEOUT) continue;  // liburing's internal wait timeout
      dispatch(ud, res, flags);
      reap();
    }
    fire_timers();

    std::vector<uint64_t> refire;
    refire.swap(poll_refire);
    for (uint64_t id : refire) {
      refire_poll(id);
      reap();
    }
  }
  // Queue what callbacks asked for before stop(), so a later run() or teardown sees it.
  flush();
  io_uring_submit(&ring);
  stop_requested.store(false, std::memory_order_release);
}

ReactorImpl::~ReactorImpl() {
  tearing_down = true;
  // Every live connection gets its on_closed, every pending connect its on_error.
  // Those callbacks may start new work (connect() then fails with ECANCELED), so
  // repeat a few rounds until nothing is left. Index loop: slots may grow.
  for (int round = 0; round < 8; round++) {
    bool any = false;
    for (size_t i = 0; i < slots.size(); i++) {
      ConnImpl* c = slots[i].get();
      if (!c || c->state_ == ConnState::kClosed) continue;
      any = true;
      if (c->state_ == ConnState::kConnecting) {
        auto on_error = c->connect_ ? std::move(c->connect_->on_error) : nullptr;
        c->connect_.reset();
        c->shut(ECANCELED);
        if (on_error) on_error(ECANCELED);
      } else {
        c->shut(ECANCELED);
      }
    }
    reap();
    std::vector<std::function<void()>> work;
    work.swap(deferred);
    for (auto& fn : work) fn();
    if (!any && deferred.empty()) break;
  }
  for (Listener& l : listeners)
    if (l.fd >= 0) ::close(l.fd);
  if (ring_ready) {
    // On the owner thread, cancel everything and wait briefly so the kernel has
    // finished with our buffers before they are unmapped.
    if (on_owner_thread()) {
      io_uring_sqe* s = sqe();
      io_uring_prep_cancel64(s, 0, IORING_ASYNC_CANCEL_ANY | IORING_ASYNC_CANCEL_ALL);
      io_uring_sqe_set_data64(s, make_ud(Op::kNone, 0));
      __kernel_timespec ts{0, 20 * 1000 * 1000};
      io_uring_cqe* cqe;
      for (int i = 0; i < 64; i++) {
        if (io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, nullptr) < 0) break;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) { seen++; }
        io_uring_cq_advance(&ring, seen);
      }
    }
    io_uring_queue_exit(&ring);
    ::munmap(buf_ring, buf_ring_bytes);
    ::munmap(buffers, buffers_bytes);
  }
  if (event_fd >= 0) ::close(event_fd);
}

}  // namespace detail

Reactor::Reactor(unsigned shard_id, const ReactorOptions& options)
    : impl_(std::make_unique<Impl>(this, shard_id, options)) {}

Reactor::~Reactor() = default;

unsigned Reactor::shard_id() const { return impl_->shard_id; }

TimerId Reactor::add_timer(Clock::duration after, std::function<void()> cb) {
  return impl_->add_timer(after, std::move(cb));
}

bool Reactor::cancel_timer(TimerId id) { return impl_->cancel_timer(id); }

void Reactor::post(std::function<void()> fn) {
  bool was_empty;
  {
    std::lock_guard lock(impl_->mbox_mu);
    was_empty = impl_->mailbox.empty();
    impl_->mailbox.push_back(std::move(fn));
  }
  // Only the empty → non-empty transition needs a wake-up; the reactor drains all.
  if (was_empty) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(impl_->event_fd, &one, sizeof(one));
  }
}

void Reactor::run() { impl_->run(); }

void Reactor::stop() {
  impl_->stop_requested.store(true, std::memory_order_release);
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(impl_->event_fd, &one, sizeof(one));
}

size_t Reactor::connection_count() const { return impl_->live_connections; }

}  // namespace ringmta::engine
