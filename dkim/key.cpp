// dkim/key.cpp — see key.h.
#include "dkim/key.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>

#include "base/base64.h"

namespace ringmta::dkim {
namespace {

constexpr off_t kMaxKeyFile = 1 << 20;

std::string ssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

std::string octal(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

}  // namespace

std::string_view to_string(Algorithm a) { return a == Algorithm::RsaSha256 ? "rsa-sha256" : "ed25519-sha256"; }

std::optional<Algorithm> parse_algorithm(std::string_view s) {
  if (s == "rsa-sha256") return Algorithm::RsaSha256;
  if (s == "ed25519-sha256") return Algorithm::Ed25519Sha256;
  return std::nullopt;
}

PrivateKey::PrivateKey(PrivateKey&& o) noexcept : pkey_(o.pkey_), algorithm_(o.algorithm_) { o.pkey_ = nullptr; }
PrivateKey& PrivateKey::operator=(PrivateKey&& o) noexcept {
  if (this != &o) {
    EVP_PKEY_free(pkey_);
    pkey_ = o.pkey_;
    algorithm_ = o.algorithm_;
    o.pkey_ = nullptr;
  }
  return *this;
}
PrivateKey::~PrivateKey() { EVP_PKEY_free(pkey_); }

base::Result<PrivateKey> PrivateKey::load(const std::string& path, Algorithm algorithm, std::string* warning) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return base::Error(path + ": " + std::strerror(errno));
  struct stat st {};
  std::string text;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxKeyFile) {
    const std::string why = !S_ISREG(st.st_mode) ? "not a regular file" : "larger than 1 MiB, not a key";
    ::close(fd);
    return base::Error(path + ": " + why);
  }
  // Like OpenDKIM's RequireSafeKeys: a key anyone may read is no secret
  // (refused); one that group or others may write could be swapped (refused);
  // group-readable is a common deployment (root:ringmta 0640) — a warning.
  if (st.st_mode & (S_IROTH | S_IWOTH | S_IWGRP)) {
    ::close(fd);
    return base::Error(path + ": mode " + octal(st.st_mode) +
                       " lets other users read or change the private key; chmod 600 (or 640 for a group)");
  }
  if (warning && (st.st_mode & S_IRGRP))
    *warning = path + ": mode " + octal(st.st_mode) + ": the private key is readable by its group";
  text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < text.size()) {  // bounded: the file size
    const ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  text.resize(got);

  BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  std::fill(text.begin(), text.end(), '\0');
  if (!pkey) return base::Error(path + ": not a PEM private key (" + ssl_error() + ")");
  PrivateKey key;
  key.pkey_ = pkey;
  key.algorithm_ = algorithm;
  const int id = EVP_PKEY_get_base_id(pkey);
  if (algorithm == Algorithm::RsaSha256 && id != EVP_PKEY_RSA)
    return base::Error(path + ": algorithm rsa-sha256 needs an RSA key, this is " +
                       (id == EVP_PKEY_ED25519 ? std::string("an Ed25519 key") : std::string("another key type")));
  if (algorithm == Algorithm::Ed25519Sha256 && id != EVP_PKEY_ED25519)
    return base::Error(path + ": algorithm ed25519-sha256 needs an Ed25519 key, this is " +
                       (id == EVP_PKEY_RSA ? std::string("an RSA key") : std::string("another key type")));
  if (algorithm == Algorithm::RsaSha256 && key.bits() < 1024)
    return base::Error(path + ": an RSA key of " + std::to_string(key.bits()) +
                       " bits; RFC 8301 requires at least 1024 (2048 recommended)");
  if (warning && algorithm == Algorithm::RsaSha256 && key.bits() < 2048 && warning->empty())
    *warning = path + ": an RSA key of " + std::to_string(key.bits()) + " bits; RFC 8301 recommends at least 2048";
  return key;
}

base::Result<PrivateKey> PrivateKey::generate(Algorithm algorithm, unsigned bits) {
  EVP_PKEY* pkey = nullptr;
  if (algorithm == Algorithm::RsaSha256) {
    if (bits < 1024 || bits > 16384) return base::Error("RSA key size must be 1024 to 16384 bits");
    pkey = EVP_RSA_gen(bits);
  } else {
    pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  }
  if (!pkey) return base::Error("key generation failed: " + ssl_error());
  PrivateKey key;
  key.pkey_ = pkey;
  key.algorithm_ = algorithm;
  return key;
}

unsigned PrivateKey::bits() const { return pkey_ ? static_cast<unsigned>(EVP_PKEY_get_bits(pkey_)) : 0; }

std::string PrivateKey::pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (bio && PEM_write_bio_PrivateKey(bio, pkey_, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::string PrivateKey::dns_record() const {
  std::string pub;
  if (algorithm_ == Algorithm::RsaSha256) {
    unsigned char* der = nullptr;
    const int n = i2d_PUBKEY(pkey_, &der);
    if (n > 0) pub.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
    return "v=DKIM1; k=rsa; p=" + base::base64_encode(pub);
  }
  size_t len = 32;
  pub.resize(len);
  if (EVP_PKEY_get_raw_public_key(pkey_, reinterpret_cast<unsigned char*>(pub.data()), &len) != 1) len = 0;
  pub.resize(len);
  return "v=DKIM1; k=ed25519; p=" + base::base64_encode(pub);
}

base::Result<std::string> PrivateKey::sign(std::string_view data) const {
  if (!pkey_) return base::Error("no key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return base::Error("out of memory");
  std::string digest;
  std::string_view input = data;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == Algorithm::Ed25519Sha256) {
    // RFC 8463 §3: Ed25519 (pure, no pre-hash mode) signs SHA-256(data).
    digest = sha256(data);
    input = digest;
    md = nullptr;  // Ed25519 takes no digest in EVP_DigestSign
  }
  std::string sig;
  size_t len = 0;
  bool ok = EVP_DigestSignInit(ctx, nullptr, md, nullptr, pkey_) == 1;
  if (ok && algorithm_ == Algorithm::RsaSha256) {
    EVP_PKEY_CTX* pctx = EVP_MD_CTX_get_pkey_ctx(ctx);
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
  }
  const auto* in = reinterpret_cast<const unsigned char*>(input.data());
  ok = ok && EVP_DigestSign(ctx, nullptr, &len, in, input.size()) == 1;
  if (ok) {
    sig.resize(len);
    ok = EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size()) == 1;
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  if (!ok) return base::Error("signing failed: " + ssl_error());
  return sig;
}

std::string sha256(std::string_view data) {
  Sha256 h;
  h.update(data);
  return h.final();
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr); }
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::update(std::string_view data) { EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()); }
std::string Sha256::final() {
  std::string out(32, '\0');
  unsigned int n = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), reinterpret_cast<unsigned char*>(out.data()), &n);
  out.resize(n);
  return out;
}

}  // namespace ringmta::dkim
