// mail/mime_codec.cpp — encode_structure()/decode_structure(): the compact
// binary form of a MimeStructure that the mail store keeps beside each
// message, so IMAP never parses a message twice.
//
// Layout (version 1): a version byte, then LEB128 varints and length-prefixed
// strings: message_size, part count, then per part: header offset/length,
// body length (the body starts where the header ends), lines, flags, type,
// subtype, params, id, description, encoding, md5, disposition, disposition
// params, languages, location, children, and an envelope presence byte with
// the envelope. The decoder trusts nothing: every count is bounded by the
// bytes left, and the result must satisfy the tree invariants of mail/mime.h,
// so a corrupt blob cannot make IMAP slice outside the message or loop.
#include <cstring>

#include "base/wire.h"
#include "mail/mime.h"

namespace ringmta::mail {
namespace {

using base::wire::put_string;
using base::wire::put_varint;

void put_opt(std::string& out, const std::optional<std::string>& s) {
  out.push_back(s ? 1 : 0);
  if (s) put_string(out, *s);
}

void put_params(std::string& out, const std::vector<MimeParam>& ps) {
  put_varint(out, ps.size());
  for (const MimeParam& p : ps) {
    put_string(out, p.name);
    put_string(out, p.value);
  }
}

void put_addresses(std::string& out, const AddressField& f) {
  put_opt(out, f.raw);
  put_varint(out, f.list.size());
  for (const EnvelopeAddress& a : f.list) {
    out.push_back(static_cast<char>(a.kind));
    put_string(out, a.name);
    put_string(out, a.route);
    put_string(out, a.mailbox);
    put_string(out, a.host);
  }
}

// base/wire.h's reader with value-returning reads (the first failure
// sticks: `ok` is checked once at the end) and the blob's own compound fields.
struct Reader {
  explicit Reader(std::string_view in) : r(in) {}
  base::wire::Reader r;
  bool ok = true;

  size_t left() const { return r.left(); }
  uint8_t byte() {
    uint8_t b = 0;
    ok = r.byte(b) && ok;
    return ok ? b : 0;
  }
  uint64_t varint() {
    uint64_t v = 0;
    ok = r.varint(v) && ok;
    return ok ? v : 0;
  }
  // A count of elements that each take at least `min_bytes`: never more than fit.
  uint64_t count(size_t min_bytes) {
    uint64_t n = 0;
    ok = r.count(n, min_bytes) && ok;
    return ok ? n : 0;
  }
  std::string string() {
    std::string s;
    ok = r.string(s) && ok;
    return ok ? s : std::string();
  }
  std::optional<std::string> opt() {
    const uint8_t present = byte();
    if (present > 1) ok = false;
    if (!ok || !present) return std::nullopt;
    return string();
  }
  std::vector<MimeParam> params() {
    std::vector<MimeParam> ps(count(2));
    for (MimeParam& p : ps) {
      p.name = string();
      p.value = string();
    }
    return ps;
  }
  AddressField addresses() {
    AddressField f;
    f.raw = opt();
    f.list.resize(count(5));
    for (EnvelopeAddress& a : f.list) {
      const uint8_t kind = byte();
      if (kind > 2) ok = false;
      a.kind = static_cast<EnvelopeAddress::Kind>(kind);
      a.name = string();
      a.route = string();
      a.mailbox = string();
      a.host = string();
    }
    return f;
  }
};

bool is_message_type(const MimePart& p) {
  return p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
}

bool inside(const Span& s, uint64_t begin, uint64_t end) {
  return s.offset >= begin && s.offset <= end && s.length <= end - s.offset;
}

// The invariants of mail/mime.h, checked on a decoded tree.
bool valid_tree(const MimeStructure& s) {
  const size_t n = s.parts.size();
  if (n == 0) return false;
  std::vector<uint32_t> parent(n, UINT32_MAX);
  for (size_t i = 0; i < n; ++i) {
    const MimePart& p = s.parts[i];
    if (p.header.offset > s.message_size || p.header.length > s.message_size - p.header.offset ||
        p.header.offset + p.header.length != p.body.offset || (p.flags & ~kAllFlags) != 0 ||
        p.lines > p.body.length)  // every line holds at least one byte
      return false;
    const bool multipart = p.type == "multipart";
    if (multipart ? p.children.empty() : is_message_type(p) ? p.children.size() != 1 : !p.children.empty())
      return false;
    for (uint32_t c : p.children) {
      if (c <= i || c >= n || parent[c] != UINT32_MAX) return false;
      parent[c] = static_cast<uint32_t>(i);
    }
  }
  // Parents come first, so their spans are known to be sane when a child is checked.
  for (size_t i = 0; i < n; ++i) {
    const MimePart& p = s.parts[i];
    uint64_t begin = 0, end = s.message_size;
    if (i == 0) {
      if (p.header.offset != 0 || !inside(p.body, 0, s.message_size) ||
          p.body.length != s.message_size - p.body.offset)
        return false;
    } else {
      if (parent[i] == UINT32_MAX) return false;
      const Span& pb = s.parts[parent[i]].body;
      begin = pb.offset;
      end = pb.offset + pb.length;
    }
    if (!inside(p.header, begin, end) || !inside(p.body, begin, end)) return false;
    const bool message = i == 0 || is_message_type(s.parts[parent[i]]);
    if (p.envelope.has_value() != message) return false;
  }
  return true;
}

}  // namespace

std::string encode_structure(const MimeStructure& s) {
  std::string out;
  out.push_back(static_cast<char>(kMimeBlobVersion));
  put_varint(out, s.message_size);
  put_varint(out, s.parts.size());
  for (const MimePart& p : s.parts) {
    put_varint(out, p.header.offset);
    put_varint(out, p.header.length);
    put_varint(out, p.body.length);  // the body starts where the header ends
    put_varint(out, p.lines);
    out.push_back(static_cast<char>(p.flags));
    put_string(out, p.type);
    put_string(out, p.subtype);
    put_params(out, p.params);
    put_string(out, p.id);
    put_string(out, p.description);
    put_string(out, p.encoding);
    put_string(out, p.md5);
    put_string(out, p.disposition);
    put_params(out, p.disposition_params);
    put_varint(out, p.language.size());
    for (const std::string& l : p.language) put_string(out, l);
    put_string(out, p.location);
    put_varint(out, p.children.size());
    for (uint32_t c : p.children) put_varint(out, c);
    out.push_back(p.envelope ? 1 : 0);
    if (p.envelope) {
      const Envelope& e = *p.envelope;
      put_opt(out, e.date);
      put_opt(out, e.subject);
      put_opt(out, e.in_reply_to);
      put_opt(out, e.message_id);
      for (const AddressField* f : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc})
        put_addresses(out, *f);
    }
  }
  return out;
}

std::optional<MimeStructure> decode_structure(std::string_view blob) {
  Reader r(blob);
  if (r.byte() != kMimeBlobVersion) return std::nullopt;
  MimeStructure s;
  s.message_size = r.varint();
  // A part takes at least 18 bytes: 4 varints, flags, 12 lengths/counts, the envelope byte.
  s.parts.resize(r.count(18));
  for (MimePart& p : s.parts) {
    p.header.offset = r.varint();
    p.header.length = r.varint();
    p.body.offset = p.header.offset + p.header.length;  // wraps only in a bad blob, which valid_tree() refuses
    p.body.length = r.varint();
    p.lines = r.varint();
    p.flags = r.byte();
    p.type = r.string();
    p.subtype = r.string();
    p.params = r.params();
    p.id = r.string();
    p.description = r.string();
    p.encoding = r.string();
    p.md5 = r.string();
    p.disposition = r.string();
    p.disposition_params = r.params();
    p.language.resize(r.count(1));
    for (std::string& l : p.language) l = r.string();
    p.location = r.string();
    p.children.resize(r.count(1));
    for (uint32_t& c : p.children) {
      const uint64_t v = r.varint();
      if (v > UINT32_MAX) r.ok = false;
      c = static_cast<uint32_t>(v);
    }
    const uint8_t has_env = r.byte();
    if (has_env > 1) r.ok = false;
    if (r.ok && has_env) {
      Envelope e;
      e.date = r.opt();
      e.subject = r.opt();
      e.in_reply_to = r.opt();
      e.message_id = r.opt();
      for (AddressField* f : {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc}) *f = r.addresses();
      p.envelope = std::move(e);
    }
    if (!r.ok) return std::nullopt;
  }
  if (!r.ok || r.left() != 0 || !valid_tree(s)) return std::nullopt;
  return s;
}

}  // namespace ringmta::mail
