// proto/imap/search_text.cpp — see search_text.h.
#include "proto/imap/search_text.h"

#include <algorithm>
#include <functional>

#include "base/text.h"
#include "mail/headers.h"

namespace ringmta::imap {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Lenient base64: anything that is not a base64 character is skipped; '='
// ends the data.
std::string b64_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() / 4 * 3 + 3);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = b64_value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// Quoted-printable (RFC 2045 §6.7); `q` is RFC 2047's Q form ('_' = space).
std::string qp_decode(std::string_view in, bool q) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (q && c == '_') {
      out.push_back(' ');
    } else if (c == '=') {
      if (i + 2 < in.size() && hex_value(in[i + 1]) >= 0 && hex_value(in[i + 2]) >= 0) {
        out.push_back(static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2])));
        i += 2;
      } else {
        // Soft line break: '=' then optional white space then the line end.
        size_t j = i + 1;
        while (j < in.size() && (in[j] == ' ' || in[j] == '\t')) ++j;
        if (j < in.size() && in[j] == '\r') ++j;
        if (j < in.size() && in[j] == '\n') {
          i = j;
        } else {
          out.push_back(c);
        }
      }
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void put_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

enum class Charset { Utf8, Latin1, Unknown };
Charset charset_kind(std::string_view cs) {
  using base::iequals;
  if (cs.empty() || iequals(cs, "utf-8") || iequals(cs, "utf8") || iequals(cs, "us-ascii") ||
      iequals(cs, "ascii"))
    return Charset::Utf8;
  if (iequals(cs, "iso-8859-1") || iequals(cs, "iso8859-1") || iequals(cs, "latin1") ||
      iequals(cs, "latin-1") || iequals(cs, "windows-1252") || iequals(cs, "cp1252") ||
      iequals(cs, "iso-8859-15"))
    return Charset::Latin1;
  return Charset::Unknown;
}

uint32_t fold_cp(uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if (c >= 0xc0 && c <= 0xde && c != 0xd7) return c + 0x20;
  if (c >= 0x100 && c <= 0x137) return c | 1;
  if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) return (c & 1) ? c + 1 : c;
  if (c >= 0x14a && c <= 0x177) return c | 1;
  if (c == 0x178) return 0xff;
  if (c >= 0x391 && c <= 0x3ab && c != 0x3a2) return c + 0x20;
  if (c >= 0x410 && c <= 0x42f) return c + 0x20;
  if (c >= 0x400 && c <= 0x40f) return c + 0x50;
  return c;
}

bool is_wsp(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// One encoded word "=?cs?X?text?=" at s[i]: its end and decoded UTF-8, or
// false when s[i] does not start one (or its charset is unknown).
bool encoded_word(std::string_view whole, size_t start, size_t& end, std::string& out) {
  // A word is at most 75 bytes (RFC 2047 §2); longer ones exist in the wild,
  // so allow kMaxEncodedWord, which also bounds the scan for the closing "?=":
  // a header full of "=?" costs O(n * kMaxEncodedWord), not O(n^2).
  constexpr size_t kMaxEncodedWord = 1024;
  const std::string_view s = whole.substr(start, kMaxEncodedWord);
  if (s.substr(0, 2) != "=?") return false;
  const size_t q1 = s.find('?', 2);
  if (q1 == std::string_view::npos || q1 + 3 >= s.size() || s[q1 + 2] != '?') return false;
  std::string_view cs = s.substr(2, q1 - 2);
  if (cs.empty() || cs.size() > 64) return false;
  for (char c : cs)
    if (is_wsp(c)) return false;
  if (const size_t star = cs.find('*'); star != std::string_view::npos) cs = cs.substr(0, star);  // RFC 2231 language
  const char enc = s[q1 + 1];
  const size_t close = s.find("?=", q1 + 3);
  if (close == std::string_view::npos) return false;
  const std::string_view text = s.substr(q1 + 3, close - q1 - 3);
  for (char c : text)
    if (is_wsp(c)) return false;
  if (charset_kind(cs) == Charset::Unknown) return false;
  std::string raw;
  if (enc == 'B' || enc == 'b') {
    raw = b64_decode(text);
  } else if (enc == 'Q' || enc == 'q') {
    raw = qp_decode(text, true);
  } else {
    return false;
  }
  out = charset_to_utf8(raw, cs);
  end = start + close + 2;
  return true;
}

}  // namespace

std::string charset_to_utf8(std::string_view bytes, std::string_view charset) {
  if (charset_kind(charset) != Charset::Latin1) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + bytes.size() / 4);
  for (unsigned char c : bytes) put_utf8(out, c);
  return out;
}

std::string decode_transfer_encoding(std::string_view body, std::string_view encoding) {
  if (base::iequals(encoding, "base64")) return b64_decode(body);
  if (base::iequals(encoding, "quoted-printable")) return qp_decode(body, false);
  return std::string(body);
}

std::string decode_header_text(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  size_t i = 0;
  bool last_was_word = false;  // the text so far ends in an encoded word
  size_t wsp_start = 0;        // where the white space after it began in `out`
  while (i < raw.size()) {
    std::string word;
    size_t end = 0;
    if (raw[i] == '=' && encoded_word(raw, i, end, word)) {
      // White space between two encoded words is not displayed (RFC 2047 §6.2).
      if (last_was_word) out.resize(wsp_start);
      out += word;
      i = end;
      last_was_word = true;
      wsp_start = out.size();
      continue;
    }
    const char c = raw[i++];
    if (is_wsp(c)) {
      if (c == '\r' || c == '\n') continue;  // folds: the WSP that follows stays
      out.push_back(' ');
      continue;
    }
    out.push_back(c);
    last_was_word = false;
  }
  return out;
}

std::string fold_case(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      out.push_back(static_cast<char>(fold_cp(c)));
      ++i;
      continue;
    }
    const size_t n = base::utf8_sequence_length(s, i);
    if (n == 0) {
      out.push_back(s[i++]);
      continue;
    }
    put_utf8(out, fold_cp(base::utf8_code_point(s, i, n)));
    i += n;
  }
  return out;
}

bool contains_bytes(std::string_view hay, std::string_view needle) {
  if (needle.size() <= 32) return hay.find(needle) != std::string_view::npos;  // short: naive is cheap
  if (needle.size() > hay.size()) return false;
  return std::search(hay.begin(), hay.end(), std::boyer_moore_searcher(needle.begin(), needle.end())) != hay.end();
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

namespace {
int64_t floor_div(int64_t a, int64_t b) {  // b > 0; no overflow for any a
  int64_t q = a / b;
  if (a % b < 0) --q;
  return q;
}
}  // namespace

int64_t day_of_ms(int64_t ms) { return floor_div(ms, 86400000); }

std::string_view message_header_block(const MessageData& m) {
  if (!m.has_body) return {};
  if (m.structure != nullptr && !m.structure->parts.empty()) {
    const mail::Span& h = m.structure->parts[0].header;
    if (h.offset <= m.body.size() && h.length <= m.body.size() - h.offset)
      return m.body.substr(h.offset, h.length);
  }
  return mail::split_message(m.body).header_block;
}

namespace {
const mail::AddressField* envelope_address(const mail::Envelope& e, std::string_view name) {
  using base::iequals;
  if (iequals(name, "from")) return &e.from;
  if (iequals(name, "sender")) return &e.sender;
  if (iequals(name, "reply-to")) return &e.reply_to;
  if (iequals(name, "to")) return &e.to;
  if (iequals(name, "cc")) return &e.cc;
  if (iequals(name, "bcc")) return &e.bcc;
  return nullptr;
}
const mail::Envelope* envelope_of(const MessageData& m) {
  if (m.structure == nullptr || m.structure->parts.empty() || !m.structure->parts[0].envelope) return nullptr;
  return &*m.structure->parts[0].envelope;
}
}  // namespace

std::optional<std::string> message_header(const MessageData& m, std::string_view name) {
  if (const mail::Envelope* e = envelope_of(m)) {
    using base::iequals;
    if (iequals(name, "date")) return e->date;
    if (iequals(name, "subject")) return e->subject;
    if (iequals(name, "in-reply-to")) return e->in_reply_to;
    if (iequals(name, "message-id")) return e->message_id;
    if (const mail::AddressField* f = envelope_address(*e, name)) return f->raw;
  }
  const std::string_view block = message_header_block(m);
  if (block.empty()) return std::nullopt;
  return mail::header_value(block, name);
}

std::vector<mail::EnvelopeAddress> message_addresses(const MessageData& m, std::string_view name) {
  if (const mail::Envelope* e = envelope_of(m))
    if (const mail::AddressField* f = envelope_address(*e, name)) return f->list;
  std::optional<std::string> v = message_header(m, name);
  if (!v) return {};
  return mail::parse_address_list(*v);
}

int64_t sent_seconds(const MessageData& m) {
  if (std::optional<std::string> d = message_header(m, "date"))
    if (std::optional<SentDate> s = parse_sent_date(*d)) return s->utc_seconds;
  return floor_div(m.internal_date_ms, 1000);
}

std::vector<std::string> parse_msg_ids(std::string_view v, size_t max) {
  std::vector<std::string> ids;
  size_t i = 0;
  while (i < v.size()) {
    const size_t open = v.find('<', i);
    if (open == std::string_view::npos) break;
    const size_t close = v.find('>', open + 1);
    if (close == std::string_view::npos) break;
    std::string id;
    for (size_t k = open + 1; k < close; ++k)
      if (!is_wsp(v[k])) id.push_back(v[k]);
    // "<" inside: the earlier '<' was junk; restart at the inner one.
    if (const size_t inner = id.rfind('<'); inner != std::string::npos) id.erase(0, inner + 1);
    if (!id.empty()) ids.push_back(std::move(id));
    i = close + 1;
  }
  if (ids.size() > max) ids.erase(ids.begin(), ids.end() - static_cast<std::ptrdiff_t>(max));
  return ids;
}

}  // namespace ringmta::imap
