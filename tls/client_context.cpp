// tls/client_context.cpp — the connecting side: trust store, verification
// policy, SNI and the host name to check (see tls.h).
//
// Verification always runs (OpenSSL records the result even with
// SSL_VERIFY_NONE), so a relay doing opportunistic TLS can still log whether
// the receiver's certificate was trusted; only Verify::Chain aborts the
// handshake when it is not.
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "tls/internal.h"

namespace ringmta::tls {
namespace {

bool is_ip_literal(const std::string& s) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

}  // namespace

struct ClientContext::Impl {
  SSL_CTX* ctx = nullptr;
  Verify verify = Verify::None;
  bool dane = false;
  ~Impl() { SSL_CTX_free(ctx); }
};

ClientContext::ClientContext() : impl_(std::make_unique<Impl>()) {}
ClientContext::~ClientContext() = default;

std::shared_ptr<ClientContext> ClientContext::create(const ClientOptions& options, std::string* error) {
  std::shared_ptr<ClientContext> c(new ClientContext());
  std::string why;
  c->impl_->ctx = detail::new_ctx(false, options.ciphers, &why);
  if (!c->impl_->ctx) {
    if (error) *error = why;
    return nullptr;
  }
  c->impl_->verify = options.verify;
  SSL_CTX* ctx = c->impl_->ctx;
  const bool system = options.ca_file.empty() || options.also_system_store;
  if (system && SSL_CTX_set_default_verify_paths(ctx) != 1) {
    if (error) *error = "cannot load trusted CAs from the system store: " + detail::openssl_errors();
    return nullptr;
  }
  if (!options.ca_file.empty() && SSL_CTX_load_verify_file(ctx, options.ca_file.c_str()) != 1) {
    if (error) *error = "cannot load trusted CAs from " + options.ca_file + ": " + detail::openssl_errors();
    return nullptr;
  }
  if (options.dane && SSL_CTX_dane_enable(ctx) <= 0) {
    if (error) *error = "cannot enable DANE: " + detail::openssl_errors();
    return nullptr;
  }
  c->impl_->dane = options.dane;
  SSL_CTX_set_verify(ctx, options.verify == Verify::Chain ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // Resumption is driven by the caller (Session::ticket() -> new_session()).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return c;
}

std::unique_ptr<Session> ClientContext::new_session(std::string_view server_name, std::string_view verify_name,
                                                    TicketPtr resume) {
  ERR_clear_error();
  SSL* ssl = SSL_new(impl_->ctx);
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  const std::string sni(server_name);
  const std::string check(verify_name.empty() ? server_name : verify_name);
  // RFC 6066: SNI carries host names only, never address literals.
  if (!sni.empty() && !is_ip_literal(sni)) SSL_set_tlsext_host_name(ssl, sni.c_str());
  if (!check.empty()) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    const int ok = is_ip_literal(check) ? X509_VERIFY_PARAM_set1_ip_asc(param, check.c_str())
                                        : X509_VERIFY_PARAM_set1_host(param, check.c_str(), check.size());
    if (ok != 1) {
      SSL_free(ssl);
      ERR_clear_error();
      return nullptr;
    }
  }
  if (resume) SSL_set_session(ssl, resume->session);
  // The SSL holds its own reference to the SSL_CTX: no owner needed.
  return detail::make_session(ssl, false, nullptr);
}

std::unique_ptr<Session> ClientContext::new_dane_session(std::string_view host, const std::vector<DaneTlsa>& records) {
  if (!impl_->dane || host.empty()) return nullptr;
  ERR_clear_error();
  SSL* ssl = SSL_new(impl_->ctx);
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  const std::string name(host);
  bool ok = SSL_set_tlsext_host_name(ssl, name.c_str()) == 1 && SSL_dane_enable(ssl, name.c_str()) > 0;
  int usable = 0;
  for (const auto& r : records) {
    if (!ok) break;
    // > 0 usable, 0 unusable (ignored, RFC 7672 §3.1.3), < 0 an error.
    const int rc = SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.mtype, r.data.data(), r.data.size());
    if (rc > 0) ++usable;
  }
  if (!ok || usable == 0) {
    SSL_free(ssl);
    ERR_clear_error();
    return nullptr;
  }
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
  SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
  return detail::make_session(ssl, false, nullptr);
}

}  // namespace ringmta::tls
