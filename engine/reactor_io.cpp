// engine/reactor_io.cpp — the parts of the reactor that create or watch sockets:
// SO_REUSEPORT listeners with multishot accept, outbound connect, and fd
// polling for foreign sockets (c-ares).
//
// Each shard opens its own listening socket per ListenerSpec; the kernel spreads
// incoming connections across shards (SO_REUSEPORT), so accepting needs no locks.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "engine/reactor_impl.h"

namespace ringmta::engine {
namespace detail {

namespace {
// Back-off before re-arming accept when out of descriptors or memory.
constexpr auto kAcceptBackoff = std::chrono::milliseconds(50);

// Current readiness of fd for `events` (0 if none), without blocking.
unsigned ready_now(int fd, unsigned events) {
  pollfd pfd{fd, static_cast<short>(events), 0};
  if (::poll(&pfd, 1, 0) <= 0) return 0;
  return static_cast<unsigned>(pfd.revents);
}
}  // namespace

// Syscalls per accepted connection matter when clients open one connection
// per message (smtp-source, many MTAs): TCP_NODELAY comes from the listener
// (Linux copies it to accepted sockets), and the local address is the
// listener's unless it is bound to the wildcard address.
void ReactorImpl::accept_one(size_t index, int fd) {
  const Listener& l = listeners[index];
  ConnImpl* c = new_conn(fd, l.tag);
  *c->peer_.size_ptr() = sizeof(sockaddr_storage);
  ::getpeername(fd, c->peer_.data(), c->peer_.size_ptr());
  if (l.bound.is_wildcard()) {
    *c->local_.size_ptr() = sizeof(sockaddr_storage);
    ::getsockname(fd, c->local_.data(), c->local_.size_ptr());
  } else {
    c->local_ = l.bound;
  }
  c->handler_ = listeners[index].factory ? listeners[index].factory(*c) : nullptr;
  if (!c->handler_) {
    c->shut(0);  // refused by the factory: no handler, so no on_closed
    return;
  }
  c->start_open();
}

void ReactorImpl::on_accept_cqe(size_t index, int res, uint32_t flags) {
  if (index >= listeners.size()) {
    if (res >= 0) ::close(res);
    return;
  }
  if (!(flags & IORING_CQE_F_MORE)) listeners[index].armed = false;
  if (res >= 0) {
    if (listeners[index].fd < 0) {
      ::close(res);  // raced with stop_accepting()
      return;
    }
    accept_one(index, res);
  } else if (res == -EMFILE || res == -ENFILE || res == -ENOBUFS || res == -ENOMEM) {
    if (!listeners[index].armed && listeners[index].fd >= 0) {
      add_timer(kAcceptBackoff, [this, index] { listeners[index].rearm_pending = true; });
      return;
    }
  }
  // ECONNABORTED and friends: nothing to do but keep accepting.
  Listener& l = listeners[index];
  if (!l.armed && l.fd >= 0) l.rearm_pending = true;
}

void ReactorImpl::arm_poll(uint64_t id, PollEntry& p) {
  io_uring_sqe* s = sqe();
  io_uring_prep_poll_multishot(s, p.fd, p.events);
  io_uring_sqe_set_data64(s, make_ud(Op::kPoll, id));
  p.armed = true;
}

void ReactorImpl::fire_poll(uint64_t id, unsigned revents) {
  auto it = polls.find(id);
  if (it == polls.end()) return;
  PollEntry* p = it->second.get();
  p->cb(revents);  // may cancel_poll(id): the entry then waits in the graveyard
  it = polls.find(id);
  if (it == polls.end()) return;
  p = it->second.get();
  // Level-triggered contract: if the callback left the fd ready, call again next
  // iteration even though the kernel will not post another edge.
  if (!p->failed && ready_now(p->fd, p->events) != 0) poll_refire.push_back(id);
  if (!p->armed && !p->failed) poll_rearm.push_back(id);
}

void ReactorImpl::refire_poll(uint64_t id) {
  auto it = polls.find(id);
  if (it == polls.end()) return;
  unsigned revents = ready_now(it->second->fd, it->second->events);
  // A closed fd reports POLLNVAL forever: tell the owner once, then stay quiet.
  if (revents & POLLNVAL) it->second->failed = true;
  if (revents != 0) fire_poll(id, revents);
}

void ReactorImpl::on_poll_cqe(uint64_t id, int res, uint32_t flags) {
  auto it = polls.find(id);
  if (it == polls.end()) return;  // cancelled: never call back
  PollEntry& p = *it->second;
  if (!(flags & IORING_CQE_F_MORE)) p.armed = false;
  if (res < 0) {
    if (res == -ECANCELED || res == -EINTR) {
      if (!p.armed) poll_rearm.push_back(id);
      return;
    }
    // EBADF and the like: report once, do not spin re-arming a dead fd.
    p.failed = true;
    fire_poll(id, POLLERR | POLLNVAL);
    return;
  }
  fire_poll(id, static_cast<unsigned>(res));
}

}  // namespace detail

int Reactor::add_listener(const ListenerSpec& spec) {
  auto& r = *impl_;
  if (int e = r.ensure_ring()) return e;
  int family = spec.address.family();
  if (family != AF_INET && family != AF_INET6) return EAFNOSUPPORT;
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // inherited by accepted sockets
  if (spec.send_buffer > 0)  // inherited too
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &spec.send_buffer, sizeof(spec.send_buffer));
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
      (family == AF_INET6 && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
      ::bind(fd, spec.address.data(), spec.address.size()) < 0 ||
      ::listen(fd, spec.backlog > 0 ? spec.backlog : 1024) < 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  detail::Listener l;
  l.fd = fd;
  l.tag = spec.tag;
  l.factory = spec.factory;
  *l.bound.size_ptr() = sizeof(sockaddr_storage);
  ::getsockname(fd, l.bound.data(), l.bound.size_ptr());
  l.rearm_pending = true;  // the accept SQE goes out with the next submit
  r.listeners.push_back(std::move(l));
  return 0;
}

std::vector<SocketAddress> Reactor::listening_addresses() const {
  std::vector<SocketAddress> out;
  for (const auto& l : impl_->listeners)
    if (l.fd >= 0) out.push_back(l.bound);
  return out;
}

void Reactor::stop_accepting() {
  auto& r = *impl_;
  for (size_t i = 0; i < r.listeners.size(); i++) {
    auto& l = r.listeners[i];
    if (l.fd < 0) continue;
    if (l.armed) r.cancel_ud(detail::make_ud(detail::Op::kAccept, i));
    ::close(l.fd);
    l.fd = -1;
    l.rearm_pending = false;
  }
}

void Reactor::connect(const SocketAddress& to, Clock::duration timeout, HandlerFactory factory,
                      std::function<void(int error)> on_error, const SocketAddress* from) {
  auto& r = *impl_;
  int err = r.tearing_down ? ECANCELED : r.ensure_ring();
  int fd = -1;
  if (err == 0) {
    // Blocking socket on purpose: io_uring makes the connect asynchronous itself,
    // and an O_NONBLOCK socket may surface EINPROGRESS as the completion instead.
    fd = ::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) err = errno;
  }
  if (err == 0 && from) {
    // The port is chosen at connect time (IP_BIND_ADDRESS_NO_PORT), so many
    // connections from one source address to different peers do not each
    // hold an ephemeral port of their own.
#ifdef IP_BIND_ADDRESS_NO_PORT
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
#endif
    if (::bind(fd, from->data(), from->size()) != 0) {
      err = errno;
      ::close(fd);
      fd = -1;
    }
  }
  if (err != 0) {
    // Never call back from inside connect(): the caller may not expect re-entry.
    r.deferred.push_back([on_error = std::move(on_error), err] {
      if (on_error) on_error(err);
    });
    return;
  }
  detail::ConnImpl* c = r.new_conn(fd, -1);
  c->state_ = detail::ConnState::kConnecting;
  c->peer_ = to;
  c->connect_ = std::make_unique<detail::ConnectCtx>();
  c->connect_->factory = std::move(factory);
  c->connect_->on_error = std::move(on_error);
  io_uring_sqe* s = r.sqe();
  io_uring_prep_connect(s, fd, c->peer_.data(), c->peer_.size());
  io_uring_sqe_set_data64(s, c->connect_ud());
  c->inflight_++;
  if (timeout > Clock::duration::zero()) {
    uint64_t payload = detail::slot_payload(c->slot_, c->gen_);
    c->connect_->timer = r.add_timer(timeout, [&r, payload] {
      detail::ConnImpl* c = r.lookup(payload);
      if (!c || c->state_ != detail::ConnState::kConnecting || !c->connect_) return;
      c->connect_->timed_out = true;
      c->connect_->timer = 0;
      r.cancel_ud(c->connect_ud());  // the connect completes with ECANCELED → ETIMEDOUT
    });
  }
}

Reactor::PollId Reactor::poll_fd(int fd, unsigned events, std::function<void(unsigned)> cb) {
  auto& r = *impl_;
  if (r.ensure_ring() != 0) return 0;
  PollId id = r.next_poll_id++;
  auto entry = std::make_unique<detail::PollEntry>();
  entry->fd = fd;
  entry->events = events;
  entry->cb = std::move(cb);
  r.arm_poll(id, *entry);
  r.polls.emplace(id, std::move(entry));
  return id;
}

void Reactor::cancel_poll(PollId id) {
  auto& r = *impl_;
  auto it = r.polls.find(id);
  if (it == r.polls.end()) return;
  if (it->second->armed) {
    io_uring_sqe* s = r.sqe();
    io_uring_prep_poll_remove(s, detail::make_ud(detail::Op::kPoll, id));
    io_uring_sqe_set_data64(s, detail::make_ud(detail::Op::kNone, 0));
  }
  // The callback may be running right now (cancel from inside it): keep it alive
  // until the next safe point.
  r.poll_graveyard.push_back(std::move(it->second));
  r.polls.erase(it);
}

}  // namespace ringmta::engine
