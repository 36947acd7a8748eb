// tests/unit/proto/imap/dump.cpp — see dump.h. Strings are shown escaped in
// double quotes (\xNN for control and 8-bit bytes) so a .ref file is text.
#include "tests/unit/proto/imap/dump.h"

#include <cstdio>

namespace ringmta::imap::testing {
namespace {

std::string q(std::string_view s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      o += b;
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string list(const std::vector<std::string>& v) {
  std::string o = "(";
  for (std::size_t i = 0; i < v.size(); ++i) o += (i ? " " : "") + q(v[i]);
  return o + ")";
}

const char* kItems[] = {"ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
                        "RFC822.TEXT", "BODY", "BODYSTRUCTURE", "UID", "MODSEQ", "BODY[]", "BINARY[]",
                        "BINARY.SIZE[]"};

std::string att(const FetchAtt& a) {
  std::string o = kItems[static_cast<int>(a.item)];
  if (a.peek) o += "/peek";
  if (a.item == FetchItem::BodySection || a.item == FetchItem::Binary || a.item == FetchItem::BinarySize) {
    o += " part=";
    for (std::size_t i = 0; i < a.part.size(); ++i) o += (i ? "." : "") + std::to_string(a.part[i]);
    if (!a.text.empty()) o += " text=" + a.text;
    if (!a.fields.empty()) o += " fields=" + list(a.fields);
    if (a.partial) o += " <" + std::to_string(a.offset) + "." + std::to_string(a.length) + ">";
  }
  return "{" + o + "}";
}

}  // namespace

std::string dump(const SequenceSet& s) {
  if (s.saved) return "$";
  std::string o;
  for (std::size_t i = 0; i < s.ranges.size(); ++i) {
    auto n = [](std::uint32_t v) { return v == 0 ? std::string("*") : std::to_string(v); };
    o += (i ? "," : "") + n(s.ranges[i].lo);
    if (s.ranges[i].hi != s.ranges[i].lo) o += ":" + n(s.ranges[i].hi);
  }
  return o;
}

std::string dump(const SearchKey& k) {
  std::string o = "(" + k.key;
  if (k.key == "SEQ" || k.key == "UID") o += " " + dump(k.set);
  for (const std::string& a : k.args) o += " " + q(a);
  if (k.number != 0) o += " " + std::to_string(k.number);
  if (k.date.year != 0)
    o += " " + std::to_string(k.date.year) + "-" + std::to_string(k.date.month) + "-" + std::to_string(k.date.day);
  for (const SearchKey& c : k.children) o += " " + dump(c);
  return o + ")";
}

std::string dump(const Command& c) {
  std::string o = q(c.tag) + " " + (c.uid ? "UID " : "") + std::string(name_text(c.name));
  auto field = [&](const char* n, const std::string& v) {
    if (!v.empty()) o += std::string(" ") + n + "=" + q(v);
  };
  auto vec = [&](const char* n, const std::vector<std::string>& v) {
    if (!v.empty()) o += std::string(" ") + n + "=" + list(v);
  };
  field("mailbox", c.mailbox);
  field("new", c.new_mailbox);
  vec("patterns", c.patterns);
  field("user", c.user);
  field("password", c.password);
  field("mech", c.mechanism);
  if (c.has_initial) o += " ir=" + q(c.initial_response);
  vec("atoms", c.atoms);
  if (c.id_nil) o += " id=NIL";
  for (const auto& [k, v] : c.id_params) o += " id[" + q(k) + "]=" + q(v);
  if (c.condstore) o += " condstore";
  if (c.qresync)
    o += " qresync=" + std::to_string(c.qresync_uidvalidity) + "/" + std::to_string(c.qresync_modseq) + "/" +
         dump(c.qresync_uids) + "/" + dump(c.qresync_seq_match) + "/" + dump(c.qresync_uid_match);
  vec("select", c.select_opts);
  vec("return", c.return_opts);
  vec("flags", c.flags);
  field("date", c.date_time);
  if (c.name == Name::Append) o += " message=" + q(c.message);
  if (!c.set.ranges.empty() || c.set.saved) o += " set=" + dump(c.set);
  for (const FetchAtt& a : c.fetch) o += " " + att(a);
  if (c.has_changedsince) o += " changedsince=" + std::to_string(c.changedsince);
  if (c.vanished) o += " vanished";
  if (c.name == Name::Store) o += std::string(" mode=") + c.store_mode + (c.silent ? " silent" : "");
  if (c.has_unchangedsince) o += " unchangedsince=" + std::to_string(c.unchangedsince);
  field("charset", c.charset);
  if (c.esearch) o += " esearch";
  vec("search_return", c.search_return);
  vec("sort", c.sort_keys);
  if (!c.criteria.key.empty()) o += " criteria=" + dump(c.criteria);
  return o;
}

std::string dump_result(const ParseResult& r) {
  if (r.ok) return dump(r.command);
  return "BAD tag=" + q(r.command.tag) + " " + r.error;
}

std::string run(std::string_view in, const std::vector<std::size_t>& splits, const AssemblerLimits& limits) {
  CommandAssembler a(limits);
  std::string out;
  std::size_t from = 0;
  auto drain = [&] {
    for (int guard = 0; guard < 100000; ++guard) {
      Assembled e = a.next();
      switch (e.status) {
        case AssembleStatus::NeedMore: return;
        case AssembleStatus::Continuation: out += "+ continue\n"; break;
        case AssembleStatus::Error:
          out += "ERROR tag=" + q(e.tag) + (e.toobig ? " toobig" : "") + (e.fatal ? " fatal" : "") + " " + e.error +
                 "\n";
          break;
        case AssembleStatus::Command:
          if (is_idle_done(e.command)) {
            out += "DONE\n";
            break;
          }
          out += dump_result(parse_command(e.command)) + "\n"; break;
      }
    }
  };
  for (std::size_t s : splits) {
    a.feed(in.substr(from, s - from));
    drain();
    from = s;
  }
  a.feed(in.substr(from));
  drain();
  return out;
}

}  // namespace ringmta::imap::testing
