// dkim/key.h — a DKIM private key (OpenSSL EVP): loading it from a PEM file
// with a permission check, generating one (ringmtactl dkim keygen), the DNS
// key record that publishes its public half, and the two signing algorithms:
//   rsa-sha256      RSASSA-PKCS1-v1_5 with SHA-256 over the header data
//                   (RFC 6376 §3.3.1). RFC 8301 §3.2: signers MUST use
//                   at least 1024 bits (smaller keys are refused) and
//                   SHOULD use at least 2048 (smaller ones get a warning).
//   ed25519-sha256  PureEdDSA Ed25519 over the SHA-256 hash of the header
//                   data (RFC 8463 §3: the hash, not the data, is signed).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace ringmta::dkim {

enum class Algorithm { RsaSha256, Ed25519Sha256 };
std::string_view to_string(Algorithm a);                     // "rsa-sha256" / "ed25519-sha256"
std::optional<Algorithm> parse_algorithm(std::string_view s);

class PrivateKey {
 public:
  PrivateKey() = default;
  PrivateKey(PrivateKey&&) noexcept;
  PrivateKey& operator=(PrivateKey&&) noexcept;
  ~PrivateKey();

  // Read a PEM private key. Refused: unreadable file, not a key, a key of
  // the other type than `algorithm`, RSA below 1024 bits, a file any user may
  // read or that group/other may write. A group-readable file is accepted
  // with a warning in `*warning` (deployments often share keys with a group).
  static base::Result<PrivateKey> load(const std::string& path, Algorithm algorithm, std::string* warning);
  // A new key: RSA of `bits`, or Ed25519 (bits ignored).
  static base::Result<PrivateKey> generate(Algorithm algorithm, unsigned bits);

  Algorithm algorithm() const { return algorithm_; }
  unsigned bits() const;
  std::string pem() const;  // PKCS#8 PEM of the private key
  // The DNS TXT record's value: "v=DKIM1; k=rsa; p=BASE64" (p= the DER
  // SubjectPublicKeyInfo for RSA, the raw 32-byte key for Ed25519, RFC 8463 §4).
  std::string dns_record() const;
  // The raw signature over the canonical header data `data` (see above);
  // an error only on an OpenSSL failure. Thread-safe (const, EVP_PKEY shared read-only).
  base::Result<std::string> sign(std::string_view data) const;

 private:
  EVP_PKEY* pkey_ = nullptr;
  Algorithm algorithm_ = Algorithm::RsaSha256;
};

// SHA-256 of `data` (32 raw bytes).
std::string sha256(std::string_view data);

// Incremental SHA-256 for the body hash.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::string_view data);
  std::string final();  // 32 raw bytes

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace ringmta::dkim
