// proto/imap/command.cpp — parse_command(): tag, command name and the
// arguments of each command (RFC 9051 §6 and §9, RFC 3501 where rev1
// differs, and the extensions: ENABLE, IDLE, UIDPLUS, MOVE, CONDSTORE/QRESYNC,
// LIST-EXTENDED/LIST-STATUS, ESEARCH, SORT/THREAD, ID, COMPRESS, QUOTA).
// Search keys are in search.cpp, FETCH attributes in fetch.cpp.
#include <array>
#include <cctype>

#include "proto/imap/parser.h"

namespace ringmta::imap {
namespace {

using detail::Parser;

constexpr std::array<std::string_view, 35> kNames = {
    "CAPABILITY", "NOOP",   "LOGOUT",  "STARTTLS",  "AUTHENTICATE", "LOGIN",    "ENABLE",
    "SELECT",     "EXAMINE", "CREATE", "DELETE",    "RENAME",       "SUBSCRIBE", "UNSUBSCRIBE",
    "LIST",       "LSUB",   "NAMESPACE", "STATUS",  "APPEND",       "IDLE",     "CHECK",
    "CLOSE",      "UNSELECT", "EXPUNGE", "SEARCH",  "FETCH",        "STORE",    "COPY",
    "MOVE",       "SORT",   "THREAD",  "ID",        "COMPRESS",     "GETQUOTA", "GETQUOTAROOT"};

// "(" item *(SP item) ")" with one rule per item; empty list allowed if `empty`.
template <class F>
bool paren_list(Parser& p, bool empty, F item) {
  if (!p.expect('(')) return false;
  if (p.eat(')')) return empty || p.fail("Empty list");
  for (std::size_t n = 0;; ++n) {
    if (n >= kMaxListItems) return p.fail("List too long");
    if (!item()) return false;
    if (p.eat(')')) return true;
    if (!p.sp()) return false;
  }
}

bool status_atts(Parser& p, std::vector<std::string>& out) {
  return paren_list(p, false, [&] {
    std::string a;
    if (!p.upper_atom(a)) return false;
    static constexpr std::string_view kAtts[] = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED",
                                                 "SIZE", "RECENT", "HIGHESTMODSEQ", "APPENDLIMIT"};
    for (std::string_view k : kAtts)
      if (a == k) {
        out.push_back(std::move(a));
        return true;
      }
    return p.fail("Unknown STATUS item");
  });
}

bool select_params(Parser& p, Command& c) {
  if (p.at_end()) return true;
  if (!p.sp()) return false;
  if (!paren_list(p, true, [&] {
        std::string a;
        if (!p.upper_atom(a)) return false;
        if (a == "CONDSTORE") {
          c.condstore = true;
          return true;
        }
        if (a != "QRESYNC") return p.fail("Unknown SELECT parameter");
        c.qresync = true;
        // "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
        std::uint32_t v = 0;
        if (!p.sp() || !p.expect('(') || !p.nz_number(v) || !p.sp() || !p.number(c.qresync_modseq, ~0ULL >> 1))
          return false;
        c.qresync_uidvalidity = v;
        if (p.eat(' ') && p.peek() != '(' && !p.sequence_set(c.qresync_uids)) return false;
        if (p.peek() == ' ') p.eat(' ');
        if (p.eat('(')) {
          if (!p.sequence_set(c.qresync_seq_match) || !p.sp() || !p.sequence_set(c.qresync_uid_match) ||
              !p.expect(')'))
            return false;
        }
        return p.expect(')');
      }))
    return false;
  return p.end();
}

bool list_cmd(Parser& p, Command& c) {
  if (!p.sp()) return false;
  if (p.peek() == '(') {  // LIST-EXTENDED selection options, "()" allowed
    if (!paren_list(p, true, [&] {
          std::string o;
          if (!p.upper_atom(o)) return false;
          c.select_opts.push_back(std::move(o));
          return true;
        }) || !p.sp())
      return false;
  }
  if (!p.mailbox(c.mailbox) || !p.sp()) return false;
  auto pattern = [&] {
    std::string s;
    if (!p.list_mailbox(s)) return false;
    c.patterns.push_back(std::move(s));
    return true;
  };
  if (p.peek() == '(') {
    if (!paren_list(p, false, pattern)) return false;
  } else if (!pattern()) {
    return false;
  }
  if (p.at_end()) return true;
  if (!p.sp() || !p.keyword("RETURN") || !p.sp()) return p.fail("Expected RETURN options");
  if (!paren_list(p, true, [&] {
        std::string o;
        if (!p.upper_atom(o)) return false;
        if (o == "STATUS" && (!p.sp() || !status_atts(p, c.atoms))) return false;
        c.return_opts.push_back(std::move(o));
        return true;
      }))
    return false;
  return p.end();
}

bool append_cmd(Parser& p, Command& c) {
  if (!p.sp() || !p.mailbox(c.mailbox) || !p.sp()) return false;
  if (p.peek() == '(' && (!p.flag_list(c.flags) || !p.sp())) return false;
  if (p.peek() == '"' && (!p.date_time(c.date_time) || !p.sp())) return false;
  if (p.keyword("UTF8")) {  // RFC 6855: UTF8 (literal8)
    if (!p.sp() || !p.expect('(') || !p.literal(c.message, true) || !p.expect(')')) return false;
  } else if (p.peek() != '{' && p.peek() != '~') {
    return p.fail("Expected the message as a literal");
  } else if (!p.literal(c.message, true)) {
    return false;
  }
  return p.end();
}

// [RETURN (opts) SP]: ESEARCH (RFC 4731) for SEARCH, ESORT (RFC 5267) for SORT.
bool search_return(Parser& p, Command& c) {
  if (!p.keyword("RETURN")) return true;
  c.esearch = true;
  return p.sp() && paren_list(p, true, [&] {
           std::string o;
           if (!p.upper_atom(o)) return false;
           if (o != "MIN" && o != "MAX" && o != "ALL" && o != "COUNT" && o != "SAVE")
             return p.fail("Unknown SEARCH return option");
           c.search_return.push_back(std::move(o));
           return true;
         }) && p.sp();
}

bool search_cmd(Parser& p, Command& c) {
  if (!p.sp() || !search_return(p, c)) return false;
  if (p.keyword("CHARSET")) {
    if (!p.sp() || !p.astring(c.charset) || !p.sp()) return false;
    for (char& ch : c.charset) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return detail::search_criteria(p, c.criteria);
}

bool sort_thread_cmd(Parser& p, Command& c) {
  if (!p.sp()) return false;
  if (c.name == Name::Sort) {
    if (!search_return(p, c)) return false;
    bool reverse_pending = false;
    if (!paren_list(p, false, [&] {
          std::string k;
          if (!p.upper_atom(k)) return false;
          static constexpr std::string_view kKeys[] = {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT",
                                                       "TO", "DISPLAYFROM", "DISPLAYTO"};
          if (k == "REVERSE") {
            if (reverse_pending) return p.fail("REVERSE REVERSE in sort criteria");
            reverse_pending = true;
            c.sort_keys.push_back(std::move(k));
            return true;
          }
          for (std::string_view s : kKeys)
            if (k == s) {
              reverse_pending = false;
              c.sort_keys.push_back(std::move(k));
              return true;
            }
          return p.fail("Unknown sort key");
        }))
      return false;
    if (reverse_pending) return p.fail("REVERSE without a sort key");
  } else {
    if (!p.upper_atom(c.mechanism)) return false;
  }
  if (!p.sp() || !p.astring(c.charset) || !p.sp()) return false;
  for (char& ch : c.charset) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return detail::search_criteria(p, c.criteria);
}

bool store_cmd(Parser& p, Command& c) {
  if (!p.sp() || !p.sequence_set(c.set) || !p.sp()) return false;
  if (p.peek() == '(') {
    if (!p.expect('(') || !p.keyword("UNCHANGEDSINCE") || !p.sp() || !p.number(c.unchangedsince, ~0ULL >> 1) ||
        !p.expect(')') || !p.sp())
      return p.fail("Invalid STORE modifier");
    c.has_unchangedsince = true;
  }
  if (p.eat('+')) c.store_mode = '+';
  else if (p.eat('-')) c.store_mode = '-';
  std::string item;
  if (!p.upper_atom(item)) return false;
  if (item == "FLAGS.SILENT") c.silent = true;
  else if (item != "FLAGS") return p.fail("Expected FLAGS, +FLAGS or -FLAGS");
  if (!p.sp()) return false;
  if (p.peek() == '(') {
    if (!p.flag_list(c.flags)) return false;
  } else {
    for (;;) {
      if (c.flags.size() >= kMaxListItems) return p.fail("Too many flags");
      std::string f;
      if (!p.flag(f, false)) return false;
      c.flags.push_back(std::move(f));
      if (p.at_end()) break;
      if (!p.sp()) return false;
    }
  }
  return p.end();
}

bool id_cmd(Parser& p, Command& c) {
  if (!p.sp()) return false;
  if (p.keyword("NIL")) {
    c.id_nil = true;
    return p.end();
  }
  if (!paren_list(p, true, [&] {
        if (c.id_params.size() >= 30) return p.fail("Too many ID fields");  // RFC 2971 §3.3
        std::string k, v;
        bool nil = false;
        if (!p.string(k) || !p.sp() || !p.nstring(v, nil)) return false;
        c.id_params.emplace_back(std::move(k), std::move(v));
        return true;
      }))
    return false;
  return p.end();
}

bool arguments(Parser& p, Command& c) {
  switch (c.name) {
    case Name::Capability: case Name::Noop: case Name::Logout: case Name::StartTls:
    case Name::Namespace: case Name::Idle: case Name::Check: case Name::Close: case Name::Unselect:
      return p.end();
    case Name::Expunge:
      if (c.uid) return p.sp() && p.sequence_set(c.set) && p.end();
      return p.end();
    case Name::Authenticate:
      if (!p.sp() || !p.upper_atom(c.mechanism)) return false;
      if (p.at_end()) return true;
      if (!p.sp()) return false;
      c.has_initial = true;
      if (p.eat('=')) return p.end();  // empty initial response (RFC 4959)
      return p.atom(c.initial_response) && p.end();
    case Name::Login:
      return p.sp() && p.astring(c.user) && p.sp() && p.astring(c.password) && p.end();
    case Name::Enable:
      do {
        if (!p.sp()) return false;
        c.atoms.emplace_back();
        if (c.atoms.size() > kMaxListItems || !p.upper_atom(c.atoms.back())) return p.fail("Invalid capability");
      } while (!p.at_end());
      return true;
    case Name::Select: case Name::Examine:
      return p.sp() && p.mailbox(c.mailbox) && select_params(p, c);
    case Name::Create:  // [SP "(" "USE" SP flag-list ")"] (RFC 6154 CREATE-SPECIAL-USE)
      if (!p.sp() || !p.mailbox(c.mailbox)) return false;
      if (p.at_end()) return true;
      if (!p.sp() || !p.expect('(') || !p.keyword("USE") || !p.sp() || !p.flag_list(c.flags) || !p.expect(')'))
        return p.fail("Invalid CREATE parameters");
      return p.end();
    case Name::Delete: case Name::Subscribe: case Name::Unsubscribe:
    case Name::GetQuotaRoot:
      return p.sp() && p.mailbox(c.mailbox) && p.end();
    case Name::Rename:
      return p.sp() && p.mailbox(c.mailbox) && p.sp() && p.mailbox(c.new_mailbox) && p.end();
    case Name::List: return list_cmd(p, c);
    case Name::Lsub: {
      std::string pat;
      if (!p.sp() || !p.mailbox(c.mailbox) || !p.sp() || !p.list_mailbox(pat)) return false;
      c.patterns.push_back(std::move(pat));
      return p.end();
    }
    case Name::Status:
      return p.sp() && p.mailbox(c.mailbox) && p.sp() && status_atts(p, c.atoms) && p.end();
    case Name::Append: return append_cmd(p, c);
    case Name::Search: return search_cmd(p, c);
    case Name::Sort: case Name::Thread: return sort_thread_cmd(p, c);
    case Name::Fetch:
      return p.sp() && p.sequence_set(c.set) && p.sp() && detail::fetch_atts(p, c);
    case Name::Store: return store_cmd(p, c);
    case Name::Copy: case Name::Move:
      return p.sp() && p.sequence_set(c.set) && p.sp() && p.mailbox(c.mailbox) && p.end();
    case Name::Id: return id_cmd(p, c);
    case Name::Compress:
      return p.sp() && p.upper_atom(c.mechanism) && p.end();
    case Name::GetQuota:
      return p.sp() && p.astring(c.mailbox) && p.end();
  }
  return p.fail("Unknown command");
}

}  // namespace

bool is_idle_done(std::string_view line) {
  return line.size() == 4 && (line[0] | 0x20) == 'd' && (line[1] | 0x20) == 'o' && (line[2] | 0x20) == 'n' &&
         (line[3] | 0x20) == 'e';
}

std::string_view name_text(Name n) { return kNames[static_cast<std::size_t>(n)]; }

ParseResult parse_command(std::string_view raw) {
  ParseResult r;
  Parser p(raw);
  Command& c = r.command;
  if (!p.tag(c.tag) || !p.sp()) {
    r.error = p.error();
    return r;
  }
  std::string word;
  if (!p.upper_atom(word)) {
    r.error = "Missing command";
    return r;
  }
  if (word == "UID") {
    c.uid = true;
    if (!p.sp() || !p.upper_atom(word)) {
      r.error = "Missing command after UID";
      return r;
    }
    if (word != "FETCH" && word != "STORE" && word != "COPY" && word != "MOVE" && word != "SEARCH" &&
        word != "SORT" && word != "THREAD" && word != "EXPUNGE") {
      r.error = "Invalid UID command";
      return r;
    }
  }
  bool known = false;
  for (std::size_t i = 0; i < kNames.size(); ++i)
    if (word == kNames[i]) {
      c.name = static_cast<Name>(i);
      known = true;
    }
  if (!known) {
    r.error = "Unknown command";
    return r;
  }
  if (!arguments(p, c)) {
    r.error = p.error().empty() ? "Invalid arguments" : p.error();
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace ringmta::imap
