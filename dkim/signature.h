// dkim/signature.h — the DKIM-Signature header field (RFC 6376 §3.5) without
// the cryptography: which header fields it signs (h=, with over-signing), the
// canonical header data the signature covers (§3.7), and the folded header
// text. key.h does the hashing and signing.
//
// Pure: standard library only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dkim/canon.h"

namespace ringmta::dkim {

struct SignatureFields {
  std::string algorithm;  // "rsa-sha256" / "ed25519-sha256"
  Canon header_canon = Canon::Relaxed;
  Canon body_canon = Canon::Relaxed;
  std::string domain;    // d=
  std::string selector;  // s=
  int64_t timestamp = 0;                 // t=, seconds since the epoch
  std::optional<int64_t> expiration;     // x=
  std::vector<std::string> headers;      // h=, in order (names as they will be listed)
  std::string body_hash;                 // bh=, base64
};

// h=: every name of `sign` (lower case) once per field of that name in the
// message; every name of `over_sign` once more than it occurs (also when it
// does not occur), so a field of that name added later breaks the signature
// (RFC 6376 §8.15). Names keep the order of `sign`; over-signed names not
// in `sign` follow.
std::vector<std::string> select_headers(const std::vector<RawField>& fields, const std::vector<std::string>& sign,
                                        const std::vector<std::string>& over_sign);

// The header fields named in h=, canonicalised, each instance picked from the
// bottom up (§5.4.2); names with no (more) instances contribute nothing.
std::string header_data(const std::vector<RawField>& fields, const std::vector<std::string>& h, Canon c);

// "DKIM-Signature: v=1; a=...; ...; b=" folded to lines of at most 78
// characters (continuations start with a TAB), without the b= value and
// without a final CRLF. The text signed is this field canonicalised without
// its CRLF (§3.7); the header stored is with_signature(prefix, b64).
std::string signature_prefix(const SignatureFields& f);
// The complete field: the prefix, the base64 signature folded on, CRLF.
std::string with_signature(const std::string& prefix, std::string_view b64);

std::string_view canon_name(Canon c);  // "simple" / "relaxed"

}  // namespace ringmta::dkim
