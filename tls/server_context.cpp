// tls/server_context.cpp — server certificates, SNI selection and reload.
//
// One "generation" = the SSL_CTX for the default certificate plus one per SNI
// entry, all loaded from files together. new_session() takes the current
// generation under a short lock and the Session keeps it alive, so reload()
// only swaps a pointer: connections already open keep the certificates (and
// ticket keys) they started with, new ones get the new set.
//
// All SSL_CTXs of a generation share one session-id context, and OpenSSL
// keeps using the first (default) SSL_CTX for tickets and the session cache
// after the SNI callback switches certificates, so resumption works across
// SNI names and across shards (an SSL_CTX is thread-safe for SSL_new).
#include <openssl/err.h>
#include <strings.h>

#include <mutex>

#include "tls/internal.h"

namespace ringmta::tls {
namespace {

constexpr unsigned char kSessionIdContext[] = "ringmta";

struct Generation {
  SSL_CTX* main = nullptr;
  struct Named {
    std::vector<std::string> names;
    SSL_CTX* ctx = nullptr;
  };
  std::vector<Named> sni;
  uint64_t number = 0;

  ~Generation() {
    SSL_CTX_free(main);
    for (auto& n : sni) SSL_CTX_free(n.ctx);
  }

  // The context whose names match `host` (exact, or "*.domain" for exactly
  // one leading label), or null.
  SSL_CTX* find(std::string_view host) const {
    for (const auto& n : sni)
      for (const auto& name : n.names) {
        if (name.size() == host.size() && strncasecmp(name.data(), host.data(), host.size()) == 0) return n.ctx;
      }
    const size_t dot = host.find('.');
    if (dot == std::string_view::npos || dot == 0) return nullptr;
    const std::string_view parent = host.substr(dot);  // ".example.com"
    for (const auto& n : sni)
      for (const auto& name : n.names) {
        if (name.size() == parent.size() + 1 && name[0] == '*' &&
            strncasecmp(name.data() + 1, parent.data(), parent.size()) == 0)
          return n.ctx;
      }
    return nullptr;
  }
};

// SNI: switch to the matching certificate; unknown names get the default one
// (as most servers do; refusing would only break clients with odd names).
int on_servername(SSL* ssl, int*, void* arg) {
  const auto* gen = static_cast<const Generation*>(arg);
  const char* host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (!host) return SSL_TLSEXT_ERR_NOACK;
  if (SSL_CTX* ctx = gen->find(host)) {
    if (!SSL_set_SSL_CTX(ssl, ctx)) return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  return SSL_TLSEXT_ERR_OK;
}

SSL_CTX* load_pair(const ServerOptions& o, const CertificateFiles& files, std::string* error) {
  std::string why;
  SSL_CTX* ctx = detail::new_ctx(true, o.ciphers, &why);
  if (!ctx) {
    *error = why;
    return nullptr;
  }
  auto fail = [&](const std::string& what) -> SSL_CTX* {
    *error = what + ": " + detail::openssl_errors();
    SSL_CTX_free(ctx);
    return nullptr;
  };
  if (files.certificate.empty() || files.private_key.empty()) {
    SSL_CTX_free(ctx);
    *error = "a certificate and a private key file are both needed";
    return nullptr;
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, files.certificate.c_str()) != 1)
    return fail("cannot load certificate " + files.certificate);
  if (SSL_CTX_use_PrivateKey_file(ctx, files.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
    return fail("cannot load private key " + files.private_key);
  if (SSL_CTX_check_private_key(ctx) != 1)
    return fail("private key " + files.private_key + " does not match certificate " + files.certificate);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  if (o.resumption) {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  } else {
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(ctx, 0);
  }
  return ctx;
}

std::shared_ptr<Generation> load(const ServerOptions& o, std::string* error) {
  auto gen = std::make_shared<Generation>();
  std::string why;
  gen->main = load_pair(o, o.default_certificate, &why);
  if (!gen->main) {
    if (error) *error = why;
    return nullptr;
  }
  for (size_t i = 0; i < o.sni.size(); ++i) {
    const auto& files = o.sni[i];
    if (files.names.empty()) {
      if (error) *error = "SNI certificate " + files.certificate + " has no host names";
      return nullptr;
    }
    SSL_CTX* ctx = load_pair(o, files, &why);
    if (!ctx) {
      if (error) *error = why;
      return nullptr;
    }
    gen->sni.push_back({files.names, ctx});
  }
  if (!gen->sni.empty()) {
    SSL_CTX_set_tlsext_servername_callback(gen->main, on_servername);
    SSL_CTX_set_tlsext_servername_arg(gen->main, gen.get());
  }
  return gen;
}

}  // namespace

struct ServerContext::Impl {
  mutable std::mutex mu;  // guards `current` (held for a pointer copy only)
  std::shared_ptr<Generation> current;
  uint64_t loads = 0;
};

ServerContext::ServerContext() : impl_(std::make_unique<Impl>()) {}
ServerContext::~ServerContext() = default;

std::shared_ptr<ServerContext> ServerContext::create(const ServerOptions& options, std::string* error) {
  std::shared_ptr<ServerContext> ctx(new ServerContext());
  if (!ctx->reload(options, error)) return nullptr;
  return ctx;
}

bool ServerContext::reload(const ServerOptions& options, std::string* error) {
  auto gen = load(options, error);
  if (!gen) return false;
  std::lock_guard lock(impl_->mu);
  gen->number = ++impl_->loads;
  impl_->current = std::move(gen);
  return true;
}

uint64_t ServerContext::generation() const {
  std::lock_guard lock(impl_->mu);
  return impl_->loads;
}

std::unique_ptr<Session> ServerContext::new_session() {
  std::shared_ptr<Generation> gen;
  {
    std::lock_guard lock(impl_->mu);
    gen = impl_->current;
  }
  SSL* ssl = SSL_new(gen->main);
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  return detail::make_session(ssl, true, std::move(gen));
}

}  // namespace ringmta::tls
