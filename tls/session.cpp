// tls/session.cpp — one TLS connection over two memory BIOs (see tls.h).
//
// rbio holds ciphertext received from the peer until OpenSSL consumes it;
// wbio collects what OpenSSL wants to send. Both are plain memory BIOs, so no
// call here ever blocks: "would block" simply means "feed me more bytes".
#include <openssl/err.h>
#include <openssl/x509.h>

#include <climits>

#include "tls/internal.h"

namespace ringmta::tls {

struct Session::Impl {
  SSL* ssl = nullptr;
  BIO* rbio = nullptr;  // owned by ssl
  BIO* wbio = nullptr;  // owned by ssl
  std::shared_ptr<const void> owner;
  bool server = false;
  State state = State::Handshaking;
  bool ever_open = false;
  bool close_sent = false;
  std::string pending;  // plaintext written before the handshake finished
  std::string error;

  ~Impl() { SSL_free(ssl); }

  void fail(int ssl_error) {
    state = State::Failed;
    std::string why = detail::openssl_errors();
    // The peer certificate is not kept after a failed handshake, but the
    // verification result is, and it says more than "verify failed".
    if (ssl_error == SSL_ERROR_SSL && SSL_get_verify_result(ssl) != X509_V_OK) {
      why += why.empty() ? "" : ": ";
      why += X509_verify_cert_error_string(SSL_get_verify_result(ssl));
    }
    if (why.empty()) why = "TLS error " + std::to_string(ssl_error);
    error = std::move(why);
  }

  bool has_peer_cert() const {
    X509* cert = SSL_get0_peer_certificate(ssl);
    return cert != nullptr;
  }

  void encrypt(std::string_view data) {
    while (!data.empty()) {
      size_t written = 0;
      if (SSL_write_ex(ssl, data.data(), data.size(), &written) != 1) {
        fail(SSL_get_error(ssl, 0));
        return;
      }
      data.remove_prefix(written);
    }
  }

  void handshake() {
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
      state = State::Open;
      ever_open = true;
      if (!pending.empty()) {
        std::string p;
        p.swap(pending);
        encrypt(p);
      }
      return;
    }
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    fail(e);
  }

  // Decrypt everything rbio holds into `out`.
  void read_all(std::string& out) {
    constexpr size_t kChunk = 16384;
    while (state == State::Open) {
      const size_t at = out.size();
      out.resize(at + kChunk);
      size_t got = 0;
      int r = SSL_read_ex(ssl, out.data() + at, kChunk, &got);
      out.resize(at + (r == 1 ? got : 0));
      if (r == 1) continue;
      int e = SSL_get_error(ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      if (e == SSL_ERROR_ZERO_RETURN) {
        // The peer's close_notify: answer it (once) and stop.
        state = State::Closed;
        if (!close_sent) {
          close_sent = true;
          SSL_shutdown(ssl);
        }
        return;
      }
      fail(e);
    }
  }
};

Session::Session(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Session::~Session() = default;

Session::State Session::feed(std::string_view ciphertext, std::string& plaintext) {
  Impl& s = *impl_;
  if (s.state == State::Failed || s.state == State::Closed) return s.state;
  ERR_clear_error();
  while (!ciphertext.empty()) {
    const int n = static_cast<int>(std::min<size_t>(ciphertext.size(), INT_MAX));
    if (BIO_write(s.rbio, ciphertext.data(), n) != n) {
      s.state = State::Failed;
      s.error = "out of memory buffering TLS input";
      return s.state;
    }
    ciphertext.remove_prefix(static_cast<size_t>(n));
  }
  if (s.state == State::Handshaking) s.handshake();
  // Records after the handshake's last flight may already be buffered.
  if (s.state == State::Open) s.read_all(plaintext);
  return s.state;
}

void Session::write(std::string_view plaintext) {
  Impl& s = *impl_;
  if (s.close_sent || plaintext.empty()) return;
  if (s.state == State::Handshaking) {
    s.pending.append(plaintext);
  } else if (s.state == State::Open) {
    ERR_clear_error();
    s.encrypt(plaintext);
  }
}

std::string Session::take_output() {
  std::string out;
  const size_t n = BIO_ctrl_pending(impl_->wbio);
  if (n == 0) return out;
  out.resize(n);
  const int got = BIO_read(impl_->wbio, out.data(), static_cast<int>(std::min<size_t>(n, INT_MAX)));
  out.resize(got > 0 ? static_cast<size_t>(got) : 0);
  return out;
}

bool Session::has_output() const { return BIO_ctrl_pending(impl_->wbio) > 0; }

void Session::close() {
  Impl& s = *impl_;
  if (s.close_sent) return;
  s.close_sent = true;
  s.pending.clear();
  // Only an established connection has anything to say goodbye on.
  if (s.state == State::Open) {
    ERR_clear_error();
    SSL_shutdown(s.ssl);
    ERR_clear_error();
  }
}

Session::State Session::state() const { return impl_->state; }
bool Session::is_server() const { return impl_->server; }
bool Session::handshake_done() const { return impl_->ever_open; }
const std::string& Session::error() const { return impl_->error; }

std::string Session::version() const {
  return impl_->ever_open ? SSL_get_version(impl_->ssl) : "";
}

std::string Session::cipher() const {
  const SSL_CIPHER* c = SSL_get_current_cipher(impl_->ssl);
  return impl_->ever_open && c ? SSL_CIPHER_get_name(c) : "";
}

int Session::cipher_bits() const {
  const SSL_CIPHER* c = SSL_get_current_cipher(impl_->ssl);
  return impl_->ever_open && c ? SSL_CIPHER_get_bits(c, nullptr) : 0;
}

bool Session::resumed() const { return impl_->ever_open && SSL_session_reused(impl_->ssl) == 1; }

std::string Session::server_name() const {
  const char* name = SSL_get_servername(impl_->ssl, TLSEXT_NAMETYPE_host_name);
  return name ? name : "";
}

bool Session::peer_has_certificate() const { return impl_->has_peer_cert(); }

bool Session::peer_verified() const {
  return impl_->ever_open && peer_has_certificate() && SSL_get_verify_result(impl_->ssl) == X509_V_OK;
}

std::string Session::verify_error() const {
  if (!impl_->ever_open) return impl_->state == State::Failed ? impl_->error : "";
  if (!peer_has_certificate()) return "no peer certificate";
  long r = SSL_get_verify_result(impl_->ssl);
  return r == X509_V_OK ? "" : X509_verify_cert_error_string(r);
}

std::string Session::peer_subject() const {
  X509* cert = SSL_get0_peer_certificate(impl_->ssl);
  if (!cert) return "";
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

TicketPtr Session::ticket() const {
  if (impl_->server || !impl_->ever_open) return nullptr;
  SSL_SESSION* sess = SSL_get1_session(impl_->ssl);
  if (!sess) return nullptr;
  if (!SSL_SESSION_is_resumable(sess)) {
    SSL_SESSION_free(sess);
    return nullptr;
  }
  return std::make_shared<const Ticket>(sess);
}

std::string describe(const Session& session) {
  std::string v = session.version();
  if (v.empty()) return "";
  if (v.rfind("TLSv", 0) == 0) v.erase(3, 1);  // "TLSv1.3" -> "TLS1.3"
  return v + " " + session.cipher();
}

namespace detail {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    if (!out.empty()) out += "; ";
    out += reason ? reason : "unknown error " + std::to_string(e);
  }
  return out;
}

std::unique_ptr<Session> make_session(SSL* ssl, bool server, std::shared_ptr<const void> owner) {
  auto impl = std::make_unique<Session::Impl>();
  impl->ssl = ssl;
  impl->server = server;
  impl->owner = std::move(owner);
  impl->rbio = BIO_new(BIO_s_mem());
  impl->wbio = BIO_new(BIO_s_mem());
  if (!impl->rbio || !impl->wbio) {
    BIO_free(impl->rbio);
    BIO_free(impl->wbio);
    return nullptr;  // impl's destructor frees ssl
  }
  // An empty rbio means "retry later", not end of file.
  BIO_set_mem_eof_return(impl->rbio, -1);
  BIO_set_mem_eof_return(impl->wbio, -1);
  SSL_set_bio(ssl, impl->rbio, impl->wbio);
  if (server) {
    SSL_set_accept_state(ssl);
  } else {
    SSL_set_connect_state(ssl);
    ERR_clear_error();
    impl->handshake();  // the ClientHello is in take_output() right away
  }
  return std::make_unique<Session>(std::move(impl));
}

namespace {
int no_passphrase(char*, int, int, void*) { return 0; }  // never prompt on a terminal
}  // namespace

SSL_CTX* new_ctx(bool server, const std::string& ciphers, std::string* error) {
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  auto fail = [&](const std::string& what) -> SSL_CTX* {
    if (error) *error = what + ": " + openssl_errors();
    SSL_CTX_free(ctx);
    return nullptr;
  };
  if (!ctx) return fail("cannot create a TLS context");
  if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
    return fail("cannot restrict TLS versions");
  if (!SSL_CTX_set_cipher_list(ctx, ciphers.c_str())) return fail("bad TLS 1.2 cipher list '" + ciphers + "'");
  if (!SSL_CTX_set1_groups_list(ctx, "X25519:P-256:X448:P-384:P-521")) return fail("cannot set key exchange groups");
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
                               (server ? SSL_OP_CIPHER_SERVER_PREFERENCE : 0));
  // Idle connections (thousands of them) should not each hold 2 x 16 KiB.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
  return ctx;
}

}  // namespace detail
}  // namespace ringmta::tls
