// engine/connection.cpp — the per-connection state machine of the reactor.
//
// A connection receives through one multishot recv on the shard's provided
// buffer ring (no per-connection receive buffer; once paused, through one plain
// recv at a time, see single_shot_) and writes through at most one
// send in flight: whatever the handler queued during a loop iteration goes out
// in a single send SQE when the iteration ends. Everything that could re-enter
// the handler (on_closed, stash delivery on resume) is deferred to a point where
// no handler callback is on the stack, so handlers may call any method from any
// callback.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "engine/reactor_impl.h"

namespace ringmta::engine::detail {

namespace {
// Drained output buffers larger than this are released, keeping idle connections small.
constexpr size_t kKeepCapacity = 4096;
// Longest wait for the peer's EOF after an orderly close (see linger()).
constexpr auto kLingerTimeout = std::chrono::seconds(5);

void shrink(std::string& s) {
  if (s.capacity() > kKeepCapacity) std::string().swap(s);
}
}  // namespace

ConnImpl::ConnImpl(ReactorImpl* r, uint32_t slot, uint32_t gen, int fd, int tag, uint64_t id)
    : r_(r), id_(id), fd_(fd), tag_(tag), slot_(slot), gen_(gen), state_(ConnState::kOpen) {}

ConnImpl::~ConnImpl() {
  if (fd_ >= 0) ::close(fd_);  // only reachable at reactor teardown
}

Reactor& ConnImpl::reactor() { return *r_->self; }

size_t ConnImpl::pending_output() const {
  if (state_ == ConnState::kClosed) return 0;  // dropped, even if a send is still in flight
  return sending_.size() - sent_off_ + queued_.size();
}

void ConnImpl::mark_dirty() {
  if (dirty_ || state_ == ConnState::kClosed) return;
  dirty_ = true;
  r_->dirty.push_back(this);
}

void ConnImpl::send(std::string_view bytes) {
  if (state_ != ConnState::kOpen || bytes.empty()) return;
  queued_.append(bytes);
  mark_dirty();
}

void ConnImpl::send(std::string&& bytes) {
  if (state_ != ConnState::kOpen || bytes.empty()) return;
  if (queued_.empty() && queued_.capacity() <= bytes.capacity())
    queued_ = std::move(bytes);  // no copy for the common "one reply" case
  else
    queued_.append(bytes);
  mark_dirty();
}

void ConnImpl::close() {
  if (state_ != ConnState::kOpen) return;
  state_ = ConnState::kClosing;
  // Nothing more will be delivered, but the recv stays armed: input is read and
  // dropped, so none is left unread when the socket closes (see linger()).
  stash_.clear();
  stash_.shrink_to_fit();
  mark_dirty();  // flush() sends the rest, then shuts
}

void ConnImpl::abort() {
  if (state_ == ConnState::kClosed || state_ == ConnState::kConnecting) return;
  shut(ECONNABORTED);
}

void ConnImpl::pause_reading() {
  if (paused_ || state_ != ConnState::kOpen) return;
  paused_ = true;
  single_shot_ = true;
  // Completions already on their way are kept in stash_ and delivered on resume.
  if (recv_armed_) r_->cancel_ud(recv_ud());
}

void ConnImpl::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  mark_dirty();  // flush() delivers the stash (outside the caller's stack) and re-arms
}

void ConnImpl::shut(int error) {
  if (state_ == ConnState::kClosed) return;
  bool had_handler = handler_ != nullptr;
  bool orderly = error == 0 && state_ == ConnState::kClosing;
  state_ = ConnState::kClosed;
  close_error_ = error;
  queued_.clear();
  stash_.clear();
  if (!send_inflight_) {
    sending_.clear();
    sent_off_ = 0;
  }
  if (had_handler) r_->live_connections--;
  r_->shut_pending.push_back(this);
  if (orderly && !peer_eof_ && fd_ >= 0) {
    linger();
    return;
  }
  // The kernel keeps the file alive while an op holds it: shutdown() completes
  // those ops at once (recv sees EOF, send EPIPE); the cancels make it certain.
  // With no op in flight (the usual end: the peer's EOF ended the multishot
  // recv) close() alone ends the connection, one syscall fewer per connection.
  const bool op_holds_file = recv_armed_ || send_inflight_;
  if (recv_armed_) r_->cancel_ud(recv_ud());
  if (send_inflight_) r_->cancel_ud(send_ud());
  if (fd_ >= 0) {
    if (op_holds_file) ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }
}

// Orderly close while the peer may still be sending. Closing a socket with
// unread input (or receiving input after close) makes the kernel answer with a
// RST and throw away output not yet transmitted — the peer would lose the tail
// of our last reply. So: send FIN now, keep reading and discarding until the
// peer's EOF or kLingerTimeout, then close. The handler is already gone.
void ConnImpl::linger() {
  lingering_ = true;
  ::shutdown(fd_, SHUT_WR);
  if (!recv_armed_) arm_linger_recv();
  uint64_t payload = slot_payload(slot_, gen_);
  ReactorImpl* r = r_;
  linger_timer_ = r_->add_timer(kLingerTimeout, [r, payload] {
    if (ConnImpl* c = r->lookup(payload)) {
      c->linger_timer_ = 0;
      c->end_linger();
    }
  });
}

void ConnImpl::arm_linger_recv() {
  io_uring_sqe* s = r_->sqe();
  io_uring_prep_recv_multishot(s, fd_, nullptr, 0, 0);
  s->flags |= IOSQE_BUFFER_SELECT;
  s->buf_group = 0;
  io_uring_sqe_set_data64(s, recv_ud());
  recv_armed_ = true;
  inflight_++;
}

void ConnImpl::end_linger() {
  if (!lingering_) return;
  lingering_ = false;
  if (linger_timer_) r_->cancel_timer(linger_timer_);
  linger_timer_ = 0;
  if (recv_armed_) r_->cancel_ud(recv_ud());
  ::close(fd_);
  fd_ = -1;
}

// Completion of the discard-reads while lingering.
void ConnImpl::on_linger_recv(int res, bool more) {
  if (res > 0 || res == -ENOBUFS || res == -EINTR || res == -EAGAIN) {
    if (!more && lingering_) arm_linger_recv();
    return;
  }
  end_linger();  // EOF, error, or our own cancel
}

void ConnImpl::start_open() {
  state_ = ConnState::kOpen;
  r_->live_connections++;
  handler_->on_open(*this);
  mark_dirty();  // arms the recv (and sends anything on_open queued)
}

void ConnImpl::on_recv_cqe(int res, uint32_t flags) {
  bool more = flags & IORING_CQE_F_MORE;
  if (!more) {
    recv_armed_ = false;
    inflight_--;
  }
  if (res > 0) {
    // The caller recycles the buffer after we return.
    std::string_view bytes;
    if (flags & IORING_CQE_F_BUFFER) {
      uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
      bytes = std::string_view(r_->buffers + size_t(bid) * r_->opts.buffer_size, size_t(res));
    }
    if (lingering_) {
      on_linger_recv(res, more);
      return;
    }
    if (state_ != ConnState::kOpen) return;  // closing: input is no longer wanted
    if (paused_ || !stash_.empty()) {
      stash_.append(bytes);  // keep order behind what is already stashed
      if (!paused_) mark_dirty();
    } else {
      handler_->on_data(*this, bytes);
    }
    if (!more && state_ == ConnState::kOpen && !paused_) mark_dirty();
    return;
  }
  if (lingering_) {
    on_linger_recv(res, more);
    return;
  }
  if (state_ == ConnState::kClosed) return;
  if (res == 0) {
    peer_eof_ = true;
    mark_dirty();  // flush() handles EOF after any stashed bytes
    return;
  }
  if (res == -ENOBUFS || res == -ECANCELED || res == -EINTR || res == -EAGAIN) {
    // Ring ran dry (buffers come back as this batch is processed) or we
    // cancelled for pause/close: re-arm at the end of the iteration if wanted.
    if (!more) mark_dirty();
    return;
  }
  shut(-res);
}

void ConnImpl::on_send_cqe(int res) {
  send_inflight_ = false;
  inflight_--;
  if (state_ == ConnState::kClosed) {
    sending_.clear();
    sent_off_ = 0;
    return;
  }
  if (res < 0) {
    if (res == -EINTR || res == -EAGAIN) {
      mark_dirty();
      return;
    }
    shut(-res);
    return;
  }
  sent_off_ += size_t(res);
  if (sent_off_ >= sending_.size()) {
    sending_.clear();
    sent_off_ = 0;
  }
  if (pending_output() > 0) {
    mark_dirty();  // partial write or more queued meanwhile: next send at iteration end
    return;
  }
  shrink(sending_);
  shrink(queued_);
  if (state_ == ConnState::kClosing) {
    shut(close_error_);
    return;
  }
  handler_->on_drained(*this);
}

void ConnImpl::on_connect_cqe(int res) {
  inflight_--;
  ConnectCtx* ctx = connect_.get();
  if (state_ != ConnState::kConnecting || ctx == nullptr) return;
  if (ctx->timer) r_->cancel_timer(ctx->timer);
  int err = ctx->timed_out ? ETIMEDOUT : (res < 0 ? -res : 0);
  if (err != 0) {
    auto on_error = std::move(ctx->on_error);
    connect_.reset();
    shut(err);  // no handler: on_closed is not called, only on_error
    if (on_error) on_error(err);
    return;
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  ::getsockname(fd_, local_.data(), local_.size_ptr());
  auto factory = std::move(ctx->factory);
  auto on_error = std::move(ctx->on_error);
  connect_.reset();
  handler_ = factory ? factory(*this) : nullptr;
  if (!handler_) {
    shut(ECONNABORTED);
    if (on_error) on_error(ECONNABORTED);
    return;
  }
  start_open();
}

void ConnImpl::flush() {
  dirty_ = false;
  if (state_ == ConnState::kClosed || state_ == ConnState::kConnecting) return;

  if (state_ == ConnState::kOpen && !paused_ && !stash_.empty()) {
    std::string bytes;
    bytes.swap(stash_);
    handler_->on_data(*this, bytes);
    if (state_ == ConnState::kClosed) return;
  }
  if (state_ == ConnState::kOpen && !paused_ && stash_.empty() && peer_eof_) {
    // Peer closed: write what the handler already queued, then close (on_closed(0)).
    state_ = ConnState::kClosing;
  }

  if (state_ == ConnState::kOpen && !paused_ && !recv_armed_ && !peer_eof_) {
    io_uring_sqe* s = r_->sqe();
    if (single_shot_)
      io_uring_prep_recv(s, fd_, nullptr, 0, 0);
    else
      io_uring_prep_recv_multishot(s, fd_, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = 0;
    io_uring_sqe_set_data64(s, recv_ud());
    recv_armed_ = true;
    inflight_++;
  }

  if (!send_inflight_ && pending_output() > 0) {
    if (!queued_.empty()) {
      if (sent_off_ > 0) {
        sending_.erase(0, sent_off_);
        sent_off_ = 0;
      }
      if (sending_.empty())
        sending_.swap(queued_);
      else
        sending_.append(queued_);
      queued_.clear();
    }
    io_uring_sqe* s = r_->sqe();
    io_uring_prep_send(s, fd_, sending_.data() + sent_off_, sending_.size() - sent_off_,
                       MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, send_ud());
    send_inflight_ = true;
    inflight_++;
  }

  if (state_ == ConnState::kClosing && !send_inflight_ && pending_output() == 0) shut(0);
}

}  // namespace ringmta::engine::detail
