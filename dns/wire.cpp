// dns/wire.cpp — the RR walker behind wire.h: header, question, answer and
// authority sections; CNAME chain following; MX/A/AAAA/SOA rdata.
#include "dns/wire.h"

#include <ares.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "base/text.h"

namespace ringmta::dns::wire {
namespace {

uint16_t get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// RFC 2181 §8: a TTL with the top bit set is treated as zero.
uint32_t clean_ttl(uint32_t ttl) { return (ttl & 0x80000000u) ? 0 : ttl; }

// Decodes the (possibly compressed) name at `at`; *consumed = its bytes at `at`.
bool expand(const uint8_t* msg, size_t len, size_t at, std::string* name, long* consumed) {
  if (at >= len) return false;
  char* s = nullptr;
  if (ares_expand_name(msg + at, msg, static_cast<int>(len), &s, consumed) != ARES_SUCCESS) {
    return false;
  }
  *name = normalize_name(s);
  ares_free_string(s);
  return true;
}

struct Rr {
  std::string owner;
  uint16_t type;
  uint16_t klass;
  uint32_t ttl;
  size_t rdata;   // offset in msg
  uint16_t rdlen;
};

// Reads `count` resource records starting at *pos.
bool read_rrs(const uint8_t* msg, size_t len, size_t* pos, unsigned count, std::vector<Rr>* out,
              std::string* error) {
  for (unsigned i = 0; i < count; ++i) {
    Rr rr;
    long used = 0;
    if (!expand(msg, len, *pos, &rr.owner, &used)) {
      *error = "bad record name";
      return false;
    }
    size_t p = *pos + static_cast<size_t>(used);
    if (p + 10 > len) {
      *error = "truncated record header";
      return false;
    }
    rr.type = get16(msg + p);
    rr.klass = get16(msg + p + 2);
    rr.ttl = clean_ttl(get32(msg + p + 4));
    rr.rdlen = get16(msg + p + 8);
    rr.rdata = p + 10;
    if (rr.rdata + rr.rdlen > len) {
      *error = "truncated record data";
      return false;
    }
    *pos = rr.rdata + rr.rdlen;
    out->push_back(std::move(rr));
  }
  return true;
}

}  // namespace

std::string normalize_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return base::to_lower_ascii(name);
}

bool parse_answer(const uint8_t* msg, size_t len, uint16_t qtype, Answer* out,
                  std::string* error) {
  *out = Answer{};
  if (len < 12) {
    *error = "short DNS message";
    return false;
  }
  out->rcode = msg[3] & 0x0f;
  unsigned qdcount = get16(msg + 4), ancount = get16(msg + 6), nscount = get16(msg + 8);
  if (qdcount != 1) {
    *error = "DNS answer without exactly one question";
    return false;
  }
  size_t pos = 12;
  std::string qname;
  long used = 0;
  if (!expand(msg, len, pos, &qname, &used) || pos + used + 4 > len) {
    *error = "bad question";
    return false;
  }
  pos += static_cast<size_t>(used) + 4;

  std::vector<Rr> answers, authority;
  if (!read_rrs(msg, len, &pos, ancount, &answers, error)) return false;
  // Authority only matters for the SOA; a broken one must not spoil the answer.
  std::string ignored;
  read_rrs(msg, len, &pos, nscount, &authority, &ignored);

  // Follow the CNAME chain from the question name.
  std::optional<uint32_t> chain_ttl;
  std::string name = qname;
  for (int hops = 0; hops < 16 && qtype != kTypeCname; ++hops) {
    auto it = std::find_if(answers.begin(), answers.end(), [&](const Rr& r) {
      return r.type == kTypeCname && r.klass == 1 && r.owner == name;
    });
    if (it == answers.end()) break;
    std::string target;
    if (!expand(msg, len, it->rdata, &target, &used)) {
      *error = "bad CNAME target";
      return false;
    }
    chain_ttl = std::min(chain_ttl.value_or(it->ttl), it->ttl);
    name = std::move(target);
  }
  out->canonical = name;

  std::optional<uint32_t> data_ttl;
  for (const Rr& r : answers) {
    if (r.type != qtype || r.klass != 1 || r.owner != name) continue;
    if (qtype == kTypeMx) {
      if (r.rdlen < 3) continue;
      MxRecord mx;
      mx.preference = get16(msg + r.rdata);
      if (!expand(msg, len, r.rdata + 2, &mx.exchange, &used)) {
        *error = "bad MX exchange name";
        return false;
      }
      out->mx.push_back(std::move(mx));
    } else if (qtype == kTypeA || qtype == kTypeAaaa) {
      size_t want = qtype == kTypeA ? 4 : 16;
      if (r.rdlen != want) continue;
      IpAddress a;
      a.family = qtype == kTypeA ? AF_INET : AF_INET6;
      std::memcpy(a.bytes.data(), msg + r.rdata, want);
      out->addresses.push_back(a);
    } else {
      continue;
    }
    data_ttl = std::min(data_ttl.value_or(r.ttl), r.ttl);
  }
  if (data_ttl) out->ttl = std::min(*data_ttl, chain_ttl.value_or(*data_ttl));

  for (const Rr& r : authority) {
    // SOA rdata: MNAME, RNAME, then SERIAL REFRESH RETRY EXPIRE MINIMUM (5 x 32 bits).
    if (r.type != kTypeSoa || r.rdlen < 22) continue;
    uint32_t minimum = clean_ttl(get32(msg + r.rdata + r.rdlen - 4));
    uint32_t neg = std::min(r.ttl, minimum);
    out->negative_ttl = std::min(out->negative_ttl.value_or(neg), neg);
  }
  return true;
}

void order_mx(std::vector<MxRecord>& records, const std::function<uint64_t()>& random) {
  std::stable_sort(records.begin(), records.end(),
                   [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  for (size_t begin = 0; begin < records.size();) {
    size_t end = begin + 1;
    while (end < records.size() && records[end].preference == records[begin].preference) ++end;
    for (size_t i = end - begin; i > 1; --i) {
      size_t j = static_cast<size_t>(random() % i);
      std::swap(records[begin + i - 1], records[begin + j]);
    }
    begin = end;
  }
}

}  // namespace ringmta::dns::wire
