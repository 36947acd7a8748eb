// dns/wire.h — reading raw DNS answers: the parts the resolver needs, with TTLs.
//
// c-ares 1.18's ares_parse_mx_reply() drops the TTLs, and the cache needs them
// (and the SOA negative TTL of NXDOMAIN/NODATA answers, RFC 2308), so the
// resolver reads the raw answer from ares_query() with this small RR walker.
// Names are decoded with c-ares' ares_expand_name() (compression pointers,
// loop and bounds checks are its job). No I/O, no clocks: fed bytes in tests.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringmta::dns::wire {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeCname = 5;
constexpr uint16_t kTypeSoa = 6;
constexpr uint16_t kTypeMx = 15;
constexpr uint16_t kTypeAaaa = 28;

constexpr int kRcodeNoError = 0;
constexpr int kRcodeServFail = 2;
constexpr int kRcodeNxDomain = 3;

struct MxRecord {
  uint16_t preference = 0;
  std::string exchange;  // normalized; "" is the root: RFC 7505 null MX
  bool operator==(const MxRecord&) const = default;
};

struct IpAddress {
  int family = 0;                    // AF_INET or AF_INET6
  std::array<uint8_t, 16> bytes{};   // first 4 used for AF_INET
  bool operator==(const IpAddress&) const = default;
};

struct Answer {
  int rcode = 0;
  std::string canonical;              // the name the data belongs to after CNAMEs
  std::vector<MxRecord> mx;           // qtype MX
  std::vector<IpAddress> addresses;   // qtype A / AAAA
  // Min TTL of the CNAMEs followed and the records returned; nullopt if no data.
  std::optional<uint32_t> ttl;
  // From an SOA in the authority section: min(SOA TTL, SOA MINIMUM).
  std::optional<uint32_t> negative_ttl;
};

// Reads a complete DNS response for a question of type `qtype`. Follows the
// CNAME chain inside the answer (from the question name, at most 16 links) and
// keeps only records of `qtype` owned by the end of the chain. Returns false
// and sets *error for malformed messages.
bool parse_answer(const uint8_t* msg, size_t len, uint16_t qtype, Answer* out,
                  std::string* error);

// Lower case, without one trailing dot: the form names are compared and cached in.
std::string normalize_name(std::string_view name);

// RFC 5321 §5.1: ascending preference; records of equal preference shuffled
// with `random` (Fisher-Yates), so load spreads over equal MX hosts.
void order_mx(std::vector<MxRecord>& records, const std::function<uint64_t()>& random);

}  // namespace ringmta::dns::wire
