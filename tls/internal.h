// tls/internal.h — shared by tls/*.cpp only: the Session internals, the
// SSL_CTX settings common to both sides and OpenSSL error text.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

#include "tls/tls.h"

namespace ringmta::tls {

class Ticket {
 public:
  explicit Ticket(SSL_SESSION* s) : session(s) {}
  ~Ticket() { SSL_SESSION_free(session); }
  Ticket(const Ticket&) = delete;
  Ticket& operator=(const Ticket&) = delete;
  SSL_SESSION* session;
};

namespace detail {

// Every queued OpenSSL error as "reason; reason" (and the queue emptied).
std::string openssl_errors();

// A new SSL_CTX with what both sides share: TLS 1.2-1.3, `ciphers` for 1.2,
// ECDHE groups, no renegotiation or compression, released idle buffers, no
// passphrase prompt. Null and `error` on failure.
SSL_CTX* new_ctx(bool server, const std::string& ciphers, std::string* error);

// Wrap a fresh SSL (which must not have BIOs yet) in a Session. `owner`
// keeps the context(s) the SSL came from alive for the Session's lifetime.
std::unique_ptr<Session> make_session(SSL* ssl, bool server, std::shared_ptr<const void> owner);

}  // namespace detail
}  // namespace ringmta::tls
