// dns/tlsa.cpp — see tlsa.h. Standard library only (fuzzed alone).
#include "dns/tlsa.h"

#include <algorithm>

namespace ringmta::dns {
namespace {

uint16_t u16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
uint32_t u32(const uint8_t* p) {
  return (static_cast<uint32_t>(p[0]) << 24) | (static_cast<uint32_t>(p[1]) << 16) |
         (static_cast<uint32_t>(p[2]) << 8) | p[3];
}

// Moves `at` past one (possibly compressed) name; false if it runs off the end.
bool skip_name(const uint8_t* msg, size_t len, size_t& at) {
  for (int labels = 0; labels < 128; ++labels) {
    if (at >= len) return false;
    const uint8_t b = msg[at];
    if (b == 0) {
      ++at;
      return true;
    }
    if ((b & 0xC0) == 0xC0) {  // a pointer ends the name here
      if (at + 2 > len) return false;
      at += 2;
      return true;
    }
    if ((b & 0xC0) != 0) return false;  // 0x40 / 0x80: reserved label types
    at += 1 + b;
  }
  return false;
}

}  // namespace

std::optional<TlsaRecord> parse_tlsa_rdata(const uint8_t* data, size_t len, std::string* error) {
  if (len < 4) {
    if (error) *error = "TLSA record shorter than 4 bytes";
    return std::nullopt;
  }
  TlsaRecord r;
  r.usage = data[0];
  r.selector = data[1];
  r.mtype = data[2];
  r.data.assign(data + 3, data + len);
  const size_t want = r.mtype == 1 ? 32 : r.mtype == 2 ? 64 : 0;
  if (want && r.data.size() != want) {
    if (error) *error = "TLSA digest of " + std::to_string(r.data.size()) + " bytes for matching type " +
                        std::to_string(r.mtype);
    return std::nullopt;
  }
  return r;
}

bool usable_for_smtp(const TlsaRecord& r) {
  return (r.usage == 2 || r.usage == 3) && r.selector <= 1 && r.mtype <= 2 && !r.data.empty();
}

std::string to_string(const TlsaRecord& r) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = std::to_string(r.usage) + " " + std::to_string(r.selector) + " " + std::to_string(r.mtype) + " ";
  for (uint8_t b : r.data) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool parse_raw_answer(const uint8_t* msg, size_t len, uint16_t qtype, RawAnswer* out, std::string* error) {
  auto fail = [&](const char* why) {
    if (error) *error = why;
    return false;
  };
  *out = RawAnswer{};
  if (len < 12) return fail("response shorter than a DNS header");
  if ((msg[2] & 0x80) == 0) return fail("not a response");
  out->truncated = (msg[2] & 0x02) != 0;
  out->authenticated = (msg[3] & 0x20) != 0;
  out->rcode = msg[3] & 0x0F;
  const uint16_t qd = u16(msg + 4), an = u16(msg + 6);
  size_t at = 12;
  for (uint16_t i = 0; i < qd; ++i) {
    if (!skip_name(msg, len, at) || at + 4 > len) return fail("question runs past the end");
    at += 4;
  }
  bool have_ttl = false;
  for (uint16_t i = 0; i < an; ++i) {
    if (!skip_name(msg, len, at) || at + 10 > len) return fail("answer record runs past the end");
    const uint16_t type = u16(msg + at), cls = u16(msg + at + 2);
    const uint32_t ttl = u32(msg + at + 4);
    const uint16_t rdlen = u16(msg + at + 8);
    at += 10;
    if (at + rdlen > len) return fail("record data runs past the end");
    if (type == qtype && cls == 1) {
      out->rdata.emplace_back(msg + at, msg + at + rdlen);
      out->ttl = have_ttl ? std::min(out->ttl, ttl) : ttl;
      have_ttl = true;
    }
    at += rdlen;
  }
  return true;
}

std::optional<std::string> txt_text(const std::vector<uint8_t>& rdata) {
  std::string out;
  size_t at = 0;
  while (at < rdata.size()) {
    const size_t n = rdata[at++];
    if (at + n > rdata.size()) return std::nullopt;
    out.append(reinterpret_cast<const char*>(rdata.data() + at), n);
    at += n;
  }
  return out;
}

}  // namespace ringmta::dns
