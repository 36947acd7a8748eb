// bench/imap_conn.cpp — the socket, TLS and response framing of one
// `ringmta-bench imap` connection (see imap_conn.h).
#include "bench/imap_conn.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringmta::bench {

int64_t trailing_literal(std::string_view line) {
  if (line.size() < 3 || line.back() != '}') return -1;
  size_t end = line.size() - 1;
  if (line[end - 1] == '+') end--;  // LITERAL+ form (only clients send it; accepted anyway)
  size_t i = end;
  while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') i--;
  if (i == end || i == 0 || line[i - 1] != '{' || end - i > 18) return -1;
  int64_t n = 0;
  for (size_t k = i; k < end; k++) n = n * 10 + (line[k] - '0');
  return n;
}

bool ImapReader::feed(const char* data, size_t n, std::vector<ImapResponse>& out) {
  size_t i = 0;
  while (i < n) {
    if (literal_left_ > 0) {  // skip literal bytes without copying them
      const size_t take = static_cast<size_t>(std::min<uint64_t>(literal_left_, n - i));
      literal_left_ -= take;
      literal_bytes_ += take;
      i += take;
      continue;
    }
    const char* nl = static_cast<const char*>(std::memchr(data + i, '\n', n - i));
    const size_t end = nl ? static_cast<size_t>(nl - data) : n;
    line_.append(data + i, end - i);
    if (line_.size() > kMaxLine) return false;
    if (!nl) return true;  // wait for the rest of the line
    i = end + 1;
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    const int64_t lit = trailing_literal(line_);
    cur_.text += line_;
    line_.clear();
    if (cur_.text.size() > kMaxText) return false;
    if (lit >= 0) {
      cur_.literals.push_back(static_cast<uint64_t>(lit));
      literal_left_ = static_cast<uint64_t>(lit);
      continue;  // the response goes on after the literal
    }
    out.push_back(std::move(cur_));
    cur_ = ImapResponse{};
  }
  return true;
}

ImapConn::~ImapConn() { close(); }

void ImapConn::close() {
  if (ssl_) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

bool ImapConn::start(const engine::SocketAddress& target, SSL_CTX* ctx, const std::string& sni, std::string& error) {
  fd_ = ::socket(target.data()->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (::connect(fd_, target.data(), target.size()) < 0 && errno != EINPROGRESS) {
    error = std::string("connect: ") + std::strerror(errno);
    close();
    return false;
  }
  if (ctx) {
    ssl_ = SSL_new(ctx);
    if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) {
      error = "SSL_new failed";
      close();
      return false;
    }
    if (!sni.empty()) SSL_set_tlsext_host_name(ssl_, sni.c_str());
    SSL_set_connect_state(ssl_);
  }
  state_ = State::Connecting;
  return true;
}

uint32_t ImapConn::wanted_events() const {
  if (fd_ < 0) return 0;
  if (state_ == State::Connecting) return EPOLLOUT;
  const bool pending = out_pos_ < out_.size() || ssl_wants_write_;
  return EPOLLIN | (pending ? EPOLLOUT : 0u);
}

bool ImapConn::handshake(std::string& error) {
  ERR_clear_error();
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    state_ = State::Open;
    ssl_wants_write_ = false;
    return true;
  }
  const int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
    ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
    return true;
  }
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  error = std::string("TLS handshake: ") + buf;
  return false;
}

bool ImapConn::on_event(std::vector<ImapResponse>& out, std::string& error) {
  if (fd_ < 0) return false;
  if (state_ == State::Connecting) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (err == EINPROGRESS) return true;
    if (err != 0) {
      error = std::string("connect: ") + std::strerror(err);
      return false;
    }
    state_ = ssl_ ? State::Handshake : State::Open;
  }
  if (state_ == State::Handshake) {
    if (!handshake(error)) return false;
    if (state_ != State::Open) return true;
  }
  if (!flush(error)) return false;
  return read_all(out, error);
}

bool ImapConn::send(std::string_view data, std::string& error) {
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  out_.append(data);
  return state_ == State::Open ? flush(error) : true;
}

bool ImapConn::flush(std::string& error) {
  ssl_wants_write_ = false;
  // Bounded: each pass writes something or returns.
  while (out_pos_ < out_.size()) {
    const size_t want = out_.size() - out_pos_;
    if (ssl_) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, out_.data() + out_pos_, static_cast<int>(std::min<size_t>(want, 1 << 30)));
      if (n > 0) {
        out_pos_ += static_cast<size_t>(n);
        continue;
      }
      const int e = SSL_get_error(ssl_, n);
      if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
        ssl_wants_write_ = e == SSL_ERROR_WANT_WRITE;
        return true;
      }
      error = "TLS write failed";
      return false;
    }
    const ssize_t n = ::send(fd_, out_.data() + out_pos_, want, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      ssl_wants_write_ = true;  // wait for EPOLLOUT
      return true;
    }
    error = std::string("write: ") + std::strerror(errno);
    return false;
  }
  out_.clear();
  out_pos_ = 0;
  return true;
}

bool ImapConn::read_all(std::vector<ImapResponse>& out, std::string& error) {
  char buf[65536];
  // Bounded by the data available (stops at EAGAIN / WANT_READ) and by a
  // round count, so one busy connection cannot starve the others; epoll is
  // level-triggered and reports the rest. Bytes OpenSSL already decrypted are
  // invisible to epoll, so they are always drained (at most one record).
  for (int rounds = 0;; rounds++) {
    if (rounds >= 1024 && !(ssl_ && SSL_pending(ssl_) > 0)) return true;
    ssize_t n;
    if (ssl_) {
      ERR_clear_error();
      const int r = SSL_read(ssl_, buf, sizeof(buf));
      if (r <= 0) {
        const int e = SSL_get_error(ssl_, r);
        if (e == SSL_ERROR_WANT_READ) return true;
        if (e == SSL_ERROR_WANT_WRITE) {
          ssl_wants_write_ = true;
          return true;
        }
        error = e == SSL_ERROR_ZERO_RETURN ? "connection closed by the server" : "TLS read failed";
        return false;
      }
      n = r;
    } else {
      n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return true;
        error = std::string("read: ") + std::strerror(errno);
        return false;
      }
      if (n == 0) {
        error = "connection closed by the server";
        return false;
      }
    }
    bytes_in_ += static_cast<uint64_t>(n);
    if (!reader_.feed(buf, static_cast<size_t>(n), out)) {
      error = "response line too long";
      return false;
    }
  }
}

}  // namespace ringmta::bench
