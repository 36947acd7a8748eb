// dkim/signer.h — DKIM signing of whole messages for the configured domains
// ([[dkim]] in deploy/ringmta.toml): which domain signs a message, and the
// DKIM-Signature field for it. Keys are loaded once (load(), at start-up on
// the main thread); sign() is const and thread-safe, called on the signing
// pool's workers (pool.h), never on a shard thread (RSA-2048 costs about a
// millisecond, Ed25519 tens of microseconds: bench/micro/dkim_bench.cpp).
//
// Which domain: the RFC 5322.From domain (the first address of the first From
// field), lower-cased, equal to a configured domain — exactly, not its
// subdomains (as OpenDKIM's SigningTable without wildcards). DMARC aligns
// with the From domain, so that is the identity that has to sign; the
// envelope sender is not considered.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "dkim/canon.h"
#include "dkim/key.h"

namespace ringmta::dkim {

struct DomainSettings {
  std::string domain;    // lower case
  std::string selector;
  std::string key_file;
  Algorithm algorithm = Algorithm::RsaSha256;
  Canon header_canon = Canon::Relaxed;
  Canon body_canon = Canon::Relaxed;
  std::vector<std::string> headers;    // names to sign (lower case); must hold "from"
  std::vector<std::string> over_sign;  // names signed once more than they occur
};

class Signer {
 public:
  struct Domain {
    DomainSettings settings;
    PrivateKey key;
  };

  // Load every key. Errors name the key file and why (unreadable, mode, not
  // a key, the wrong type for the algorithm); `warnings` gets the rest.
  static base::Result<std::shared_ptr<const Signer>> load(std::vector<DomainSettings> settings,
                                                          std::vector<std::string>* warnings);
  // For tests and the benchmark: a key already in memory.
  static std::shared_ptr<const Signer> with_keys(std::vector<Domain> domains);

  // The configured domain that signs `message` (see above), or null.
  const Domain* domain_for(std::string_view message) const;

  // The DKIM-Signature field (folded, ending in CRLF) to put on top of
  // `message`, signed at `now` (seconds since the epoch, t=).
  base::Result<std::string> sign(const Domain& domain, std::string_view message, int64_t now) const;

  bool empty() const { return domains_.empty(); }

 private:
  std::vector<Domain> domains_;
};

// The domain of the first address of the first From: field, lower case;
// "" when there is none.
std::string from_domain(std::string_view message);

}  // namespace ringmta::dkim
