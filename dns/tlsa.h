// dns/tlsa.h — DANE TLSA records (RFC 6698, RFC 7672) and the raw answers
// they (and MTA-STS TXT records) arrive in.
//
// Pure: standard library only, no c-ares (unlike wire.h, whose names go
// through ares_expand_name), so the fuzz target (tests/fuzz/tlsa.cmake)
// compiles it alone. Owner names are skipped, not decoded: the records of
// the asked type in the answer section belong to the question (or its CNAME
// chain, which the validating resolver has already followed and signed).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringmta::dns {

constexpr uint16_t kTypeTxt = 16;
constexpr uint16_t kTypeTlsa = 52;

struct TlsaRecord {
  uint8_t usage = 0;     // 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
  uint8_t selector = 0;  // 0 full certificate, 1 SubjectPublicKeyInfo
  uint8_t mtype = 0;     // 0 exact, 1 SHA-256, 2 SHA-512
  std::vector<uint8_t> data;
  bool operator==(const TlsaRecord&) const = default;
};

// One TLSA RDATA. Null (and `error`) when shorter than 4 bytes, or when a
// digest has the wrong length for its matching type (32 / 64 bytes).
std::optional<TlsaRecord> parse_tlsa_rdata(const uint8_t* data, size_t len, std::string* error);

// RFC 7672 §3.1.3: only DANE-TA(2) and DANE-EE(3) with a known selector and
// matching type count for SMTP; PKIX-TA(0)/PKIX-EE(1) and unknown
// parameters are "unusable" (they neither enable DANE nor fail it).
bool usable_for_smtp(const TlsaRecord& r);

// "3 1 1 ab12..." — for logs and test names.
std::string to_string(const TlsaRecord& r);

// A DNS response read far enough for TLSA and TXT questions.
struct RawAnswer {
  int rcode = 0;
  bool authenticated = false;   // the AD bit (RFC 4035 §3.2.3): the resolver validated it
  bool truncated = false;       // TC
  std::vector<std::vector<uint8_t>> rdata;  // of every answer RR of the asked type
  uint32_t ttl = 0;             // smallest TTL of those records (0 when none)
};

// Walks a complete response. False and `error` for a malformed message
// (short header, names or RRs running past the end, compression pointers
// used as labels are merely skipped, never followed, so no loops).
bool parse_raw_answer(const uint8_t* msg, size_t len, uint16_t qtype, RawAnswer* out, std::string* error);

// TXT RDATA: its character-strings concatenated (RFC 7208 §3.3 style), or
// null when a length byte runs past the end.
std::optional<std::string> txt_text(const std::vector<uint8_t>& rdata);

}  // namespace ringmta::dns
