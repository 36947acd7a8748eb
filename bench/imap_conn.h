// bench/imap_conn.h — one IMAP client connection of `ringmta-bench imap`:
// a non-blocking socket (plain or OpenSSL TLS on the fd) and the framing of
// server responses into whole responses (a line, and for every "{n}" at its
// end, n literal bytes and the line that continues it).
//
// The bench needs counts and sizes, not message bodies: literal bytes are
// counted and skipped, never copied, so a full-body FETCH of 10,000
// messages costs the client no memory and almost no CPU.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/address.h"

namespace ringmta::bench {

// A whole response: its lines without CRLF, joined (each literal's "{n}"
// marker stays in place, its bytes are left out) and the literal sizes.
struct ImapResponse {
  std::string text;
  std::vector<uint64_t> literals;
};

// Pure framing: bytes in, responses out. A line longer than kMaxLine (or a
// response whose text grows beyond kMaxText) is a protocol error.
class ImapReader {
 public:
  static constexpr size_t kMaxLine = 1 << 20;
  static constexpr size_t kMaxText = 16 << 20;
  // Appends complete responses to `out`; false on a framing error.
  bool feed(const char* data, size_t n, std::vector<ImapResponse>& out);
  uint64_t literal_bytes() const { return literal_bytes_; }

 private:
  ImapResponse cur_;
  std::string line_;
  uint64_t literal_left_ = 0;
  uint64_t literal_bytes_ = 0;  // all literal bytes seen (for the report)
};

// The literal size announced at the end of `line` ("... {123}" or "{123+}"), or -1.
int64_t trailing_literal(std::string_view line);

class ImapConn {
 public:
  ImapConn() = default;
  ImapConn(const ImapConn&) = delete;
  ImapConn& operator=(const ImapConn&) = delete;
  ~ImapConn();

  // Starts a non-blocking connect (TLS when ctx is set). False and `error` on failure.
  bool start(const engine::SocketAddress& target, SSL_CTX* ctx, const std::string& sni, std::string& error);
  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  // Handles readiness: finishes connect/handshake, flushes output, reads
  // everything available. Complete responses are appended to `out`.
  // False (and `error`) when the connection failed or the peer closed it.
  bool on_event(std::vector<ImapResponse>& out, std::string& error);
  // Queues bytes and tries to write them at once (false: the write failed).
  bool send(std::string_view data, std::string& error);
  // The epoll events this connection needs now (EPOLLIN, plus EPOLLOUT while
  // connecting or with output pending).
  uint32_t wanted_events() const;
  uint32_t registered = 0;  // what the loop last told epoll
  void close();
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t literal_bytes() const { return reader_.literal_bytes(); }

 private:
  enum class State { Connecting, Handshake, Open };
  bool flush(std::string& error);
  bool read_all(std::vector<ImapResponse>& out, std::string& error);
  bool handshake(std::string& error);

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  State state_ = State::Connecting;
  bool ssl_wants_write_ = false;
  std::string out_;
  size_t out_pos_ = 0;
  ImapReader reader_;
  uint64_t bytes_in_ = 0;
};

}  // namespace ringmta::bench
