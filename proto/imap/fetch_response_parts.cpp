// proto/imap/fetch_response_parts.cpp — the pieces of a FETCH response that
// are text work rather than assembly: INTERNALDATE and FLAGS, the section
// name, HEADER.FIELDS selection and Content-Transfer-Encoding decoding for
// BINARY (RFC 3516). See fetch_response.h for the choices.
#include <algorithm>
#include <cstdio>

#include "base/text.h"
#include "mail/datetime.h"
#include "proto/imap/fetch_response.h"

namespace ringmta::imap {
namespace {

// A line of `s` from `pos`: up to and including its '\n' (or to the end).
std::string_view line_at(std::string_view s, size_t pos) {
  size_t nl = s.find('\n', pos);
  return s.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos + 1);
}

bool empty_line(std::string_view line) { return line == "\r\n" || line == "\n" || line == "\r"; }

int base64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// RFC 2045 §6.8: characters outside the alphabet are ignored; '=' ends the
// data. A final group of 2 or 3 characters still gives its 1 or 2 octets.
void decode_base64(std::string_view in, std::string& out) {
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    if (c == '=') break;
    int v = base64_value(c);
    if (v < 0) continue;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
}

// RFC 2045 §6.7: "=XX" is an octet (either case accepted), "=" at the end of
// a line (after optional transport padding) is a soft line break, trailing
// SP/HTAB of a line is padding and removed; anything else stays as written.
void decode_quoted_printable(std::string_view in, std::string& out) {
  size_t pos = 0;
  while (pos < in.size()) {  // one line per turn; each advances pos
    std::string_view line = line_at(in, pos);
    pos += line.size();
    std::string_view end;
    std::string_view text = line;
    if (text.ends_with("\r\n")) end = "\r\n";
    else if (text.ends_with("\n")) end = "\n";
    text.remove_suffix(end.size());
    text = base::trim_right(text);
    bool soft = false;
    if (text.ends_with('=')) {
      soft = true;
      text.remove_suffix(1);
    }
    for (size_t i = 0; i < text.size(); ++i) {
      if (text[i] == '=' && i + 2 < text.size()) {
        int hi = hex_value(static_cast<unsigned char>(text[i + 1]));
        int lo = hex_value(static_cast<unsigned char>(text[i + 2]));
        if (hi >= 0 && lo >= 0) {
          out += static_cast<char>(hi * 16 + lo);
          i += 2;
          continue;
        }
      }
      out += text[i];
    }
    if (!soft) out += end;
  }
}

}  // namespace

void append_internal_date(std::string& out, int64_t unix_ms) {
  // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE.
  // The year must be 4 digits: clamp to 0001-01-01 .. 9999-12-31.
  constexpr int64_t kMin = -62135596800, kMax = 253402300799;
  int64_t secs = unix_ms >= 0 ? unix_ms / 1000 : -((-(unix_ms + 1)) / 1000) - 1;
  secs = std::clamp(secs, kMin, kMax);
  int64_t days = secs >= 0 ? secs / 86400 : -((-(secs + 1)) / 86400) - 1;
  int64_t rem = secs - days * 86400;
  mail::CivilDate d = mail::civil_from_days(days);
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  char buf[64];
  std::snprintf(buf, sizeof buf, "\"%02u-%s-%04lld %02lld:%02lld:%02lld +0000\"", d.day,
                kMonths[(d.month - 1) % 12], static_cast<long long>(d.year),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60));
  out += buf;
}

void append_flags(std::string& out, uint8_t flags, bool recent,
                  const std::vector<std::string>* keywords) {
  std::vector<std::string_view> list;
  // The order Dovecot uses, so the two servers' outputs compare line by line.
  if (flags & kFlagAnswered) list.push_back("\\Answered");
  if (flags & kFlagFlagged) list.push_back("\\Flagged");
  if (flags & kFlagDeleted) list.push_back("\\Deleted");
  if (flags & kFlagSeen) list.push_back("\\Seen");
  if (flags & kFlagDraft) list.push_back("\\Draft");
  if (recent) list.push_back("\\Recent");
  if (keywords)
    for (const std::string& k : *keywords) list.push_back(k);
  append_flag_list(out, list);
}

void append_section_spec(std::string& out, const FetchAtt& a, const WriteOptions& o) {
  for (size_t i = 0; i < a.part.size(); ++i) {
    if (i) out += '.';
    out += std::to_string(a.part[i]);
  }
  if (a.text.empty()) return;
  if (!a.part.empty()) out += '.';
  out += a.text;
  if (a.text == "HEADER.FIELDS" || a.text == "HEADER.FIELDS.NOT") {
    out += " (";
    for (size_t i = 0; i < a.fields.size(); ++i) {
      if (i) out += ' ';
      append_astring(out, a.fields[i], o);
    }
    out += ')';
  }
}

std::string select_header_fields(std::string_view header, std::span<const std::string> fields,
                                  bool not_) {
  // Sorted copy: a request may list thousands of names and a header hold
  // thousands of fields; a binary search keeps it n log m.
  std::vector<std::string_view> names(fields.begin(), fields.end());
  std::sort(names.begin(), names.end());
  std::string out;
  std::string upper;
  bool take = false;  // the current field is selected (its continuation lines follow it)
  size_t pos = 0;
  while (pos < header.size()) {  // one line per turn; each advances pos
    std::string_view line = line_at(header, pos);
    pos += line.size();
    if (empty_line(line)) break;  // the end of the header block
    if (line[0] != ' ' && line[0] != '\t') {
      size_t colon = line.find(':');
      take = false;
      if (colon != std::string_view::npos) {
        std::string_view name = base::trim_right(line.substr(0, colon));
        upper = base::to_upper_ascii(name);
        bool listed = !name.empty() && std::binary_search(names.begin(), names.end(),
                                                          std::string_view(upper));
        take = !name.empty() && listed != not_;
      }
    }
    if (!take) continue;
    out += line;
    if (line.back() != '\n') out += "\r\n";  // the last line of a block without an end
  }
  out += "\r\n";
  return out;
}

bool known_transfer_encoding(std::string_view e) {
  return e == "7bit" || e == "8bit" || e == "binary" || e == "base64" || e == "quoted-printable";
}

bool decode_transfer_encoding(std::string_view e, std::string_view in, std::string& out) {
  if (e == "base64") {
    out.reserve(out.size() + in.size() / 4 * 3 + 3);
    decode_base64(in, out);
  } else if (e == "quoted-printable") {
    out.reserve(out.size() + in.size());
    decode_quoted_printable(in, out);
  } else if (e == "7bit" || e == "8bit" || e == "binary") {
    out.append(in);
  } else {
    return false;
  }
  return true;
}

}  // namespace ringmta::imap
