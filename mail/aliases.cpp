// mail/aliases.cpp — the aliases file parser and local recipient resolution
// (see aliases.h). Standard library only: the fuzz target builds it alone.
#include "mail/aliases.h"

#include <algorithm>

namespace ringmta::mail {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Why `a` (name or target, as written) is not usable, or "".
std::string address_problem(std::string_view a) {
  if (a.empty()) return "empty address";
  if (a.size() > kMaxAddressLength) return "address longer than 320 bytes";
  if (a.front() == '|') return "commands (\"|...\") are not supported";
  if (a.front() == '/') return "files (\"/...\") are not supported";
  if (a.substr(0, 9) == ":include:") return "\":include:\" is not supported";
  for (unsigned char c : a) {
    if (c < 0x21 || c == 0x7f) return "control character or space in an address";
    if (c == '"' || c == ',' || c == '(' || c == ')' || c == '<' || c == '>' || c == ';' || c == ':' ||
        c == '\\' || c == '[' || c == ']')
      return std::string("'") + static_cast<char>(c) + "' in an address is not supported";
  }
  const size_t at = a.find('@');
  if (at != std::string_view::npos) {
    if (at == 0) return "empty local part";
    if (at + 1 == a.size()) return "empty domain";
    if (a.find('@', at + 1) != std::string_view::npos) return "more than one '@'";
  }
  return "";
}

// Lower case, with "@default_domain" added to a bare local part ("" when
// there is no default domain to add).
std::string full(std::string_view a, std::string_view default_domain) {
  if (a.find('@') != std::string_view::npos) return lower(a);
  if (default_domain.empty()) return "";
  return lower(a) + "@" + lower(default_domain);
}

struct Entry {
  std::string text;  // the whole entry, continuation lines joined by a space
  size_t line = 0;   // where it starts
};

// Splits the text into entries (a line starting with blank space continues
// the entry before it; comments and blank lines end nothing and add nothing).
std::vector<Entry> entries_of(std::string_view text) {
  std::vector<Entry> out;
  size_t line_no = 0;
  bool open = false;  // the last entry may be continued
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    std::string_view t = trim(line);
    if (t.empty() || t.front() == '#') continue;  // Postfix: they do not end an entry either
    if (blank(line.front()) && open) {
      out.back().text.push_back(' ');
      out.back().text.append(t);
      continue;
    }
    out.push_back(Entry{std::string(t), line_no});
    open = true;
  }
  return out;
}

}  // namespace

AliasTable parse_aliases(std::string_view text, std::string_view source, std::string_view default_domain) {
  AliasTable table;
  for (const Entry& e : entries_of(text)) {
    auto problem = [&](const std::string& what) {
      table.problems.push_back(std::string(source) + ":" + std::to_string(e.line) + ": " + what);
    };
    std::string_view t = e.text;
    const size_t colon = t.find(':');
    // ":include:" at the start of a line has its colon first: no name.
    if (colon == std::string_view::npos || colon == 0) {
      problem("expected NAME: TARGET, TARGET...");
      continue;
    }
    std::string_view name_text = trim(t.substr(0, colon));
    if (std::string why = address_problem(name_text); !why.empty()) {
      problem("alias name: " + why);
      continue;
    }
    std::string name = full(name_text, default_domain);
    if (name.empty()) {
      problem("alias '" + std::string(name_text) + "' has no domain and there is no local domain");
      continue;
    }
    if (table.entries.count(name)) {
      problem("alias '" + name + "' appears again (the first entry counts)");
      continue;
    }
    std::vector<std::string> targets;
    std::string_view rest = t.substr(colon + 1);
    bool any = false;
    while (true) {
      const size_t comma = rest.find(',');
      std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty()) {
        any = true;
        std::string why = address_problem(item);
        std::string target = why.empty() ? full(item, default_domain) : std::string();
        if (!why.empty())
          problem("alias '" + name + "': target '" + std::string(item.substr(0, 64)) + "': " + why);
        else if (target.empty())
          problem("alias '" + name + "': target '" + std::string(item) + "' has no domain and there is no local domain");
        else if (std::find(targets.begin(), targets.end(), target) == targets.end())
          targets.push_back(std::move(target));
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
    if (!any) {
      problem("alias '" + name + "' has no targets");
      continue;
    }
    if (targets.empty()) continue;  // every target was reported
    table.entries.emplace(std::move(name), std::move(targets));
  }
  return table;
}

std::string canonical_user(std::string_view name, std::string_view default_domain) {
  const size_t at = name.find('@');
  if (name.empty() || at == 0 || (at != std::string_view::npos && at + 1 == name.size())) return "";
  return full(name, default_domain);
}

bool LocalDomains::contains(std::string_view domain) const {
  const std::string d = lower(domain);
  return std::find(domains.begin(), domains.end(), d) != domains.end();
}

namespace {

struct Resolver {
  const AliasTable& aliases;
  const std::set<std::string>& users;
  const LocalDomains& local;
  Resolution out;
  size_t visits = 0;
  bool too_deep = false;
  std::vector<std::string> path;     // aliases being expanded, outermost first
  std::set<std::string> expanded;    // aliases already expanded once (diamonds)

  void add(std::vector<std::string>& list, const std::string& a) {
    if (std::find(list.begin(), list.end(), a) != list.end()) return;
    if (++visits > kMaxExpansion) {
      too_deep = true;
      return;
    }
    list.push_back(a);
  }

  // The alias of `a` or of its delimiter-stripped form, and that form.
  const std::vector<std::string>* alias_of(const std::string& a, std::string& stripped) const {
    stripped = a;
    if (auto it = aliases.entries.find(a); it != aliases.entries.end()) return &it->second;
    if (local.delimiter.empty()) return nullptr;
    const size_t at = a.rfind('@');
    const size_t d = a.find(local.delimiter[0]);
    if (at == std::string::npos || d == std::string::npos || d == 0 || d > at) return nullptr;
    stripped = a.substr(0, d) + a.substr(at);
    if (auto it = aliases.entries.find(stripped); it != aliases.entries.end()) return &it->second;
    return nullptr;
  }

  void visit(const std::string& a, size_t depth) {
    if (too_deep) return;
    const size_t at = a.rfind('@');
    if (at == std::string::npos || !local.contains(std::string_view(a).substr(at + 1))) {
      add(out.external, a);
      return;
    }
    std::string stripped;
    const std::vector<std::string>* targets = alias_of(a, stripped);
    const bool on_path = std::find(path.begin(), path.end(), stripped) != path.end();
    if (targets && !on_path) {
      if (expanded.count(stripped)) return;  // reached before by another way: already collected
      if (depth >= kMaxAliasDepth || ++visits > kMaxExpansion) {
        too_deep = true;
        return;
      }
      expanded.insert(stripped);
      path.push_back(stripped);
      for (const std::string& t : *targets) visit(t, depth + 1);
      path.pop_back();
      return;
    }
    // A user (the address itself, or without its +tag); an alias naming
    // itself reaches its user this way, a loop without a user reaches nobody.
    if (users.count(a)) return add(out.users, a);
    if (stripped != a && users.count(stripped)) return add(out.users, stripped);
  }
};

}  // namespace

Resolution resolve(std::string_view address, const AliasTable& aliases, const std::set<std::string>& users,
                   const LocalDomains& local) {
  const std::string a = lower(address);
  const size_t at = a.rfind('@');
  if (at == std::string::npos || at == 0 || !local.contains(std::string_view(a).substr(at + 1))) {
    Resolution r;
    r.status = Resolution::Status::NotLocal;
    return r;
  }
  Resolver rs{aliases, users, local, {}, 0, false, {}, {}};
  rs.visit(a, 0);
  Resolution r = std::move(rs.out);
  if (rs.too_deep)
    r.status = Resolution::Status::TooDeep;
  else
    r.status = r.users.empty() && r.external.empty() ? Resolution::Status::Unknown : Resolution::Status::Ok;
  return r;
}

std::vector<std::string> missing_role_addresses(const AliasTable& aliases, const std::set<std::string>& users,
                                                const LocalDomains& local) {
  std::vector<std::string> out;
  for (const std::string& d : local.domains)
    for (const char* role : {"postmaster@", "abuse@"}) {
      std::string a = role + d;
      if (resolve(a, aliases, users, local).status != Resolution::Status::Ok) out.push_back(std::move(a));
    }
  return out;
}

}  // namespace ringmta::mail
