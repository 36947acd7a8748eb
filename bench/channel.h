// bench/channel.h — plaintext or TLS on top of an engine::Connection.
//
// Both bench tools speak SMTP that may switch to TLS midway (STARTTLS) or
// start in it (implicit TLS). The protocol code writes plaintext through
// send() and gets plaintext back from feed(); whether a tls::Session sits in
// between is this class's business only. The plaintext buffer is reused
// between calls so the TLS path costs no allocation per read.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "engine/reactor.h"
#include "tls/tls.h"

namespace ringmta::bench {

class Channel {
 public:
  enum class Feed { Ok, Failed, Closed };

  explicit Channel(engine::Connection& conn) : conn_(conn) {}

  // Plaintext out: straight to the socket, or encrypted first.
  void send(std::string_view plain) {
    if (!tls_) {
      conn_.send(plain);
      return;
    }
    tls_->write(plain);
    pump();
  }

  // Switch to TLS: every later send()/feed() goes through `session`. A client
  // session's ClientHello leaves at once.
  void start_tls(std::unique_ptr<tls::Session> session) {
    tls_ = std::move(session);
    handshake_reported_ = false;
    pump();
  }

  // Bytes from the socket. `plain` receives the decrypted (or raw) bytes;
  // `handshake_done` becomes true once, on the call that completes it.
  Feed feed(std::string_view bytes, std::string_view& plain, bool& handshake_done) {
    handshake_done = false;
    if (!tls_) {
      plain = bytes;
      return Feed::Ok;
    }
    plain_.clear();
    const tls::Session::State st = tls_->feed(bytes, plain_);
    pump();
    plain = plain_;
    if (st == tls::Session::State::Failed) return Feed::Failed;
    if (!handshake_reported_ && tls_->handshake_done()) {
      handshake_reported_ = true;
      handshake_done = true;
    }
    return st == tls::Session::State::Closed ? Feed::Closed : Feed::Ok;
  }

  bool tls_active() const { return tls_ != nullptr; }
  const tls::Session* session() const { return tls_.get(); }
  engine::Connection& conn() { return conn_; }

 private:
  void pump() {
    if (tls_->has_output()) conn_.send(tls_->take_output());
  }

  engine::Connection& conn_;
  std::unique_ptr<tls::Session> tls_;
  std::string plain_;
  bool handshake_reported_ = false;
};

}  // namespace ringmta::bench
