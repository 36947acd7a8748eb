// tls/self_signed.cpp — a self-signed certificate for a server that has none
// configured, so STARTTLS and implicit TLS work from the first start (clients
// doing opportunistic TLS, as MTAs do, accept it; submission clients will
// warn, which is why the daemon logs a warning too).
//
// Files are written to a temporary name and renamed, so a crash never leaves
// a half-written key that the next start would try (and fail) to use.
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "tls/internal.h"

namespace ringmta::tls {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using CertPtr = std::unique_ptr<X509, Deleter<X509, X509_free>>;

constexpr long kValidDays = 3650;

bool add_ext(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  const bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

CertPtr make_cert(EVP_PKEY* key, const std::string& hostname, std::string* error) {
  CertPtr cert(X509_new());
  if (!cert) return nullptr;
  X509* x = cert.get();
  bool ok = X509_set_version(x, 2) == 1;  // v3
  // A random 127-bit serial, as CAs do (RFC 5280: positive, at most 20 octets).
  BIGNUM* serial = BN_new();
  ok = ok && serial && BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
       BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) != nullptr;
  BN_free(serial);
  // Back-dated an hour so clients with a slightly slow clock accept it.
  ok = ok && X509_gmtime_adj(X509_getm_notBefore(x), -3600) && X509_gmtime_adj(X509_getm_notAfter(x), kValidDays * 86400);
  X509_NAME* name = X509_get_subject_name(x);
  ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                        reinterpret_cast<const unsigned char*>(hostname.c_str()), -1, -1, 0) == 1;
  ok = ok && X509_set_issuer_name(x, name) == 1 && X509_set_pubkey(x, key) == 1;
  ok = ok && add_ext(x, NID_subject_alt_name, "DNS:" + hostname) &&
       add_ext(x, NID_basic_constraints, "critical,CA:FALSE") &&
       add_ext(x, NID_key_usage, "critical,digitalSignature") && add_ext(x, NID_ext_key_usage, "serverAuth") &&
       add_ext(x, NID_subject_key_identifier, "hash");
  ok = ok && X509_sign(x, key, EVP_sha256()) > 0;
  if (!ok) {
    *error = "cannot build the certificate: " + detail::openssl_errors();
    return nullptr;
  }
  return cert;
}

// Write via `writer(FILE*)` to path.tmp (mode `mode`), fsync, rename to path.
template <typename W>
bool write_atomically(const std::string& path, mode_t mode, W writer, std::string* error) {
  const std::string tmp = path + ".tmp";
  ::unlink(tmp.c_str());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    *error = "cannot create " + tmp + ": " + std::strerror(errno);
    return false;
  }
  FILE* f = ::fdopen(fd, "w");
  if (!f) {
    ::close(fd);
    *error = "cannot open " + tmp + ": " + std::strerror(errno);
    return false;
  }
  bool ok = writer(f) == 1;
  ok = std::fflush(f) == 0 && ok;
  ok = ::fsync(fd) == 0 && ok;
  ok = std::fclose(f) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot write " + path + ": " + (errno ? std::strerror(errno) : detail::openssl_errors());
    ::unlink(tmp.c_str());
    return false;
  }
  return true;
}

}  // namespace

SelfSigned ensure_self_signed(const std::string& dir, const std::string& hostname) {
  namespace fs = std::filesystem;
  SelfSigned r;
  r.certificate = (fs::path(dir) / "selfsigned-cert.pem").string();
  r.private_key = (fs::path(dir) / "selfsigned-key.pem").string();
  std::error_code ec;
  if (fs::exists(r.certificate, ec) && fs::exists(r.private_key, ec)) return r;
  fs::create_directories(dir, ec);
  if (ec) {
    r.error = "cannot create " + dir + ": " + ec.message();
    return r;
  }
  ERR_clear_error();
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) {
    r.error = "cannot generate an EC P-256 key: " + detail::openssl_errors();
    return r;
  }
  CertPtr cert = make_cert(key.get(), hostname, &r.error);
  if (!cert) return r;
  // Key first: the pair counts as present only once the certificate exists.
  errno = 0;
  if (!write_atomically(
          r.private_key, 0600,
          [&](FILE* f) { return PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr); },
          &r.error))
    return r;
  errno = 0;
  if (!write_atomically(r.certificate, 0644, [&](FILE* f) { return PEM_write_X509(f, cert.get()); }, &r.error))
    return r;
  r.created = true;
  return r;
}

}  // namespace ringmta::tls
