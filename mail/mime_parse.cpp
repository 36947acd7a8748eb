// mail/mime_parse.cpp — parse_mime(): the walk that builds the part tree.
//
// No recursion: a work stack holds parts whose region (header + body) is known
// but not yet read. Reading a part splits its region at the first empty line,
// interprets its MIME header fields, and, for a container, creates the
// children with their regions and pushes them. Each container scans only its
// own body once for its delimiter lines, so a byte is looked at once per
// enclosing container: linear time times the depth limit.
#include <algorithm>
#include <cstring>

#include "mail/headers.h"
#include "mail/mime.h"
#include "mail/mime_internal.h"

namespace ringmta::mail {
namespace {

struct Work {
  uint32_t part = 0;
  uint32_t depth = 0;     // containers above this part
  bool in_digest = false; // default type message/rfc822
  bool is_message = false;  // the root or an encapsulated message: has an envelope
};

bool is_message_type(const MimePart& p) {
  return p.type == "message" && (p.subtype == "rfc822" || p.subtype == "global");
}

bool is_container(const MimePart& p) { return p.type == "multipart" || is_message_type(p); }

void set_default(MimePart& p, bool in_digest) {
  p.params.clear();
  if (in_digest) {
    p.type = "message";
    p.subtype = "rfc822";
  } else {
    p.type = "text";
    p.subtype = "plain";
    p.params.push_back({"charset", "us-ascii"});
  }
}

// Turn a container that cannot be expanded into a leaf.
void demote(MimePart& p, uint8_t flag) {
  p.flags |= flag;
  p.children.clear();
  p.params.clear();
  if (flag == kBroken && p.type == "multipart") {
    p.type = "text";
    p.subtype = "plain";
    p.params.push_back({"charset", "us-ascii"});
  } else {
    p.type = "application";
    p.subtype = "octet-stream";
  }
}

uint64_t count_lines(std::string_view body) {
  uint64_t n = 0;
  const char* p = body.data();
  const char* end = p + body.size();
  while (p < end) {
    const void* nl = std::memchr(p, '\n', static_cast<size_t>(end - p));
    if (!nl) return n + 1;  // a last line without a line end
    ++n;
    p = static_cast<const char*>(nl) + 1;
  }
  return n;
}

// Interpret the header block's MIME fields (first occurrence of each wins).
void read_mime_fields(std::string_view header_block, MimePart& p, bool in_digest) {
  bool seen_type = false, seen_enc = false, seen_disp = false, seen_id = false, seen_desc = false,
       seen_md5 = false, seen_lang = false, seen_loc = false;
  for (const HeaderField& f : header_fields(header_block)) {
    if (f.name.size() < 8 || !header_name_equals(f.name.substr(0, 8), "content-")) continue;
    std::string_view n = f.name.substr(8);
    if (!seen_type && header_name_equals(n, "type")) {
      seen_type = true;
      if (!parse_content_value(unfold(f.raw_value), true, p.type, p.subtype, p.params)) {
        set_default(p, in_digest);
        p.flags |= kDefaultType;
      }
    } else if (!seen_enc && header_name_equals(n, "transfer-encoding")) {
      seen_enc = true;
      // A single token; comments and trailing junk dropped ("BASE64 (x) junk" is base64).
      std::string enc, unused;
      std::vector<MimeParam> no_params;
      if (parse_content_value(unfold(f.raw_value), false, enc, unused, no_params)) p.encoding = std::move(enc);
    } else if (!seen_disp && header_name_equals(n, "disposition")) {
      seen_disp = true;
      std::string unused;
      if (!parse_content_value(unfold(f.raw_value), false, p.disposition, unused, p.disposition_params)) {
        p.disposition.clear();
        p.disposition_params.clear();
      }
    } else if (!seen_id && header_name_equals(n, "id")) {
      seen_id = true;
      p.id = unfold(f.raw_value);
    } else if (!seen_desc && header_name_equals(n, "description")) {
      seen_desc = true;
      p.description = unfold(f.raw_value);
    } else if (!seen_md5 && header_name_equals(n, "md5")) {
      seen_md5 = true;
      p.md5 = unfold(f.raw_value);
    } else if (!seen_lang && header_name_equals(n, "language")) {
      seen_lang = true;
      p.language = split_language(unfold(f.raw_value));
    } else if (!seen_loc && header_name_equals(n, "location")) {
      seen_loc = true;
      p.location = unfold(f.raw_value);
    }
  }
  if (!seen_type) {
    set_default(p, in_digest);
    p.flags |= kDefaultType;
  }
  if (p.type == "multipart" && !std::any_of(p.params.begin(), p.params.end(), [](const MimeParam& m) {
        return m.name == "boundary" && !m.value.empty();
      })) {
    set_default(p, false);  // RFC 2045 §5.2: unusable Content-Type
    p.flags |= kDefaultType;
  }
}

Envelope read_envelope(std::string_view header_block) {
  Envelope e;
  auto take = [](std::optional<std::string>& slot, const HeaderField& f) {
    if (!slot) slot = unfold(f.raw_value);
  };
  auto take_list = [](AddressField& slot, const HeaderField& f) {
    if (slot.raw) return;
    slot.raw = unfold(f.raw_value);
    slot.list = parse_address_list(*slot.raw);
  };
  for (const HeaderField& f : header_fields(header_block)) {
    const std::string_view n = f.name;
    if (header_name_equals(n, "date")) take(e.date, f);
    else if (header_name_equals(n, "subject")) take(e.subject, f);
    else if (header_name_equals(n, "in-reply-to")) take(e.in_reply_to, f);
    else if (header_name_equals(n, "message-id")) take(e.message_id, f);
    else if (header_name_equals(n, "from")) take_list(e.from, f);
    else if (header_name_equals(n, "sender")) take_list(e.sender, f);
    else if (header_name_equals(n, "reply-to")) take_list(e.reply_to, f);
    else if (header_name_equals(n, "to")) take_list(e.to, f);
    else if (header_name_equals(n, "cc")) take_list(e.cc, f);
    else if (header_name_equals(n, "bcc")) take_list(e.bcc, f);
  }
  return e;
}

// A delimiter line of `boundary` found in a multipart body.
struct Delimiter {
  size_t begin = 0;  // start of the "--boundary" line
  size_t end = 0;    // after its line end
  bool close = false;
};

// Is [b, e) (a line without its line end) "--boundary" ["--"] *(SP/HTAB)?
bool delimiter_line(std::string_view msg, size_t b, size_t e, std::string_view boundary, bool& close) {
  const size_t len = e - b;
  if (len < 2 + boundary.size() || msg[b] != '-' || msg[b + 1] != '-') return false;
  if (msg.compare(b + 2, boundary.size(), boundary) != 0) return false;
  size_t i = b + 2 + boundary.size();
  close = false;
  if (e - i >= 2 && msg[i] == '-' && msg[i + 1] == '-') {
    close = true;
    i += 2;
  }
  for (; i < e; ++i)
    if (msg[i] != ' ' && msg[i] != '\t' && msg[i] != '\r') return false;
  return true;
}

// Expand the multipart parts[w.part] (its fields already read) into children.
void split_multipart(std::string_view msg, std::vector<MimePart>& parts, std::vector<Work>& stack,
                     const Work& w, const MimeLimits& lim) {
  std::string boundary;  // the first non-empty one (read_mime_fields made sure there is one)
  for (const MimeParam& m : parts[w.part].params)
    if (m.name == "boundary" && !m.value.empty()) {
      boundary = m.value;
      break;
    }
  const size_t b = parts[w.part].body.offset;
  const size_t e = b + parts[w.part].body.length;
  std::vector<Delimiter> delims;
  bool limited = false;
  size_t pos = b;
  while (pos < e) {
    const void* nl = std::memchr(msg.data() + pos, '\n', e - pos);
    const size_t line_end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - msg.data()) : e;
    const size_t next = nl ? line_end + 1 : e;
    bool close = false;
    if (msg[pos] == '-' && delimiter_line(msg, pos, line_end, boundary, close)) {
      // Every delimiter but the close one starts a part.
      if (!close && parts.size() + delims.size() >= lim.max_parts) {
        // No room for another part: end here as if this were the close delimiter.
        limited = true;
        delims.push_back({pos, next, true});
        break;
      }
      delims.push_back({pos, next, close});
      if (close) break;
    }
    pos = next;
  }
  MimePart& parent = parts[w.part];
  if (delims.empty() || delims.front().close) {
    demote(parent, limited ? kLimit : kBroken);
    return;
  }
  if (limited) parent.flags |= kLimit;
  const bool digest = parent.subtype == "digest";
  std::vector<uint32_t> kids;
  for (size_t i = 0; i < delims.size() && !delims[i].close; ++i) {
    const size_t start = delims[i].end;
    size_t stop = e;
    if (i + 1 < delims.size()) {
      stop = delims[i + 1].begin;  // its preceding line end belongs to the delimiter
      if (stop > start && msg[stop - 1] == '\n') --stop;
      if (stop > start && msg[stop - 1] == '\r') --stop;
    }
    MimePart child;
    child.header = {start, stop - start};  // the whole region until read
    kids.push_back(static_cast<uint32_t>(parts.size()));
    parts.push_back(std::move(child));
  }
  parts[w.part].children = kids;
  // Pushed in reverse so the first child is read first (document order).
  for (size_t i = kids.size(); i-- > 0;) stack.push_back({kids[i], w.depth + 1, digest, false});
}

}  // namespace

MimeStructure parse_mime(std::string_view message, const MimeLimits& limits) {
  MimeLimits lim = limits;
  if (lim.max_parts < 1) lim.max_parts = 1;
  MimeStructure s;
  s.message_size = message.size();
  MimePart root;
  root.header = {0, message.size()};
  s.parts.push_back(std::move(root));
  std::vector<Work> stack{{0, 0, false, true}};
  while (!stack.empty()) {  // bounded: each pass reads one part, parts are capped
    const Work w = stack.back();
    stack.pop_back();
    MimePart& p = s.parts[w.part];
    const std::string_view region = message.substr(p.header.offset, p.header.length);
    const MessageParts mp = split_message(region);
    const uint64_t body_len = mp.has_separator ? mp.body.size() : 0;
    p.header.length = region.size() - body_len;
    p.body = {p.header.offset + p.header.length, body_len};
    read_mime_fields(mp.header_block, p, w.in_digest);
    if (w.is_message) p.envelope = read_envelope(mp.header_block);

    if (is_message_type(p) && p.encoding != "7bit" && p.encoding != "8bit" && p.encoding != "binary")
      demote(p, kBroken);
    if (is_container(p) && (w.depth >= lim.max_depth || s.parts.size() >= lim.max_parts))
      demote(p, kLimit);
    if (p.type == "multipart") {
      split_multipart(message, s.parts, stack, w, lim);  // may demote; invalidates p
    } else if (is_message_type(p)) {
      MimePart child;
      child.header = p.body;  // the whole encapsulated message, until read
      p.children.push_back(static_cast<uint32_t>(s.parts.size()));
      s.parts.push_back(std::move(child));  // invalidates p
      stack.push_back({static_cast<uint32_t>(s.parts.size() - 1), w.depth + 1, false, true});
    }
    MimePart& done = s.parts[w.part];
    if (done.type == "text" || is_message_type(done))
      done.lines = count_lines(message.substr(done.body.offset, done.body.length));
  }
  return s;
}

}  // namespace ringmta::mail
