// config/config_dkim.cpp — the [[dkim]] tables (see config.h and
// deploy/ringmta.toml): one per signing domain. Only the shape is checked
// here (config/ does not link OpenSSL); the key files are read, their mode
// and key type checked, when the daemon starts (dkim::Signer::load), and a
// problem there stops the start with the file and the reason.
#include <algorithm>

#include "config/config_internal.h"

namespace ringmta::config::detail {
namespace {

// RFC 5322 field names: printable ASCII except ':'.
bool field_name(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f && c != ':'; });
}

// A list of header field names (lower-cased, duplicates dropped).
std::vector<std::string> names(Validator& v, const toml::node& n, const std::string& key) {
  std::vector<std::string> out;
  v.strings(n, key, [&](const std::string& s, const toml::node& item, const std::string& item_key) {
    std::string lower = base::to_lower_ascii(s);
    if (!field_name(lower))
      v.error(Validator::line_of(item), item_key, "not a header field name: " + describe(item));
    else if (std::find(out.begin(), out.end(), lower) == out.end())
      out.push_back(lower);
  });
  return out;
}

void read_one(Validator& v, const toml::table& t, const std::string& prefix, Config::Dkim& d) {
  auto required = [&](const char* name, std::string& out) {
    const std::string key = prefix + "." + name;
    if (const auto* n = t.get(name)) {
      if (auto s = v.string(*n, key)) {
        if (s->empty() || s->find('\0') != std::string::npos) v.expected(*n, key, "a non-empty string");
        else out = *s;
      }
    } else {
      v.error(Validator::line_of(t), key, "required key is missing");
    }
  };
  required("domain", d.domain);
  d.domain = base::to_lower_ascii(d.domain);
  if (const auto* n = t.get("domain"); n && !d.domain.empty())
    if (auto why = domain_problem(d.domain); !why.empty()) {
      v.error(Validator::line_of(*n), prefix + ".domain", "invalid domain " + describe(*n) + ": " + why);
      d.domain.clear();
    }
  required("selector", d.selector);
  if (const auto* n = t.get("selector"); n && !d.selector.empty())
    if (auto why = domain_problem(d.selector); !why.empty())
      v.error(Validator::line_of(*n), prefix + ".selector", "invalid selector " + describe(*n) + ": " + why);
  required("key_file", d.key_file);
  if (const auto* n = t.get("algorithm"))
    if (auto s = v.string(*n, prefix + ".algorithm")) {
      if (*s != "rsa-sha256" && *s != "ed25519-sha256")
        v.error(Validator::line_of(*n), prefix + ".algorithm",
                "expected \"rsa-sha256\" or \"ed25519-sha256\", got " + describe(*n) +
                    " (rsa-sha1 is not allowed: RFC 8301)");
      else
        d.algorithm = *s;
    }
  if (const auto* n = t.get("canonicalization"))
    if (auto s = v.string(*n, prefix + ".canonicalization")) {
      const size_t slash = s->find('/');
      std::string header = s->substr(0, slash);
      // RFC 6376 §3.5 c=: a missing body algorithm means "simple".
      std::string body = slash == std::string::npos ? "simple" : s->substr(slash + 1);
      auto ok = [](const std::string& c) { return c == "simple" || c == "relaxed"; };
      if (!ok(header) || !ok(body)) {
        v.error(Validator::line_of(*n), prefix + ".canonicalization",
                "expected \"relaxed/relaxed\", \"relaxed/simple\", \"simple/relaxed\" or \"simple/simple\", got " +
                    describe(*n));
      } else {
        d.header_canon = header;
        d.body_canon = body;
      }
    }
  if (const auto* n = t.get("headers")) {
    d.headers = names(v, *n, prefix + ".headers");
    // RFC 6376 §5.4: "The From header field MUST be signed".
    if (n->is_array() && std::find(d.headers.begin(), d.headers.end(), "from") == d.headers.end())
      v.error(Validator::line_of(*n), prefix + ".headers", "must include \"from\" (RFC 6376 section 5.4)");
  }
  if (const auto* n = t.get("over_sign")) d.over_sign = names(v, *n, prefix + ".over_sign");
}

}  // namespace

void read_dkim(Validator& v, const toml::node& node, std::vector<Config::Dkim>& out) {
  const auto* array = node.as_array();
  if (!array || !array->is_array_of_tables()) {
    v.expected(node, "dkim", "an array of tables ([[dkim]] sections)");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const auto& t = *array->get(i)->as_table();
    const std::string prefix = "dkim[" + std::to_string(i) + "]";
    v.check_keys(t, "dkim", prefix);
    Config::Dkim d;
    read_one(v, t, prefix, d);
    // One signature per message: which entry signs must not be ambiguous.
    if (!d.domain.empty() &&
        std::any_of(out.begin(), out.end(), [&](const Config::Dkim& o) { return o.domain == d.domain; }))
      v.error(Validator::line_of(t), prefix + ".domain", "domain " + d.domain + " has a [[dkim]] table already");
    out.push_back(std::move(d));
  }
}

}  // namespace ringmta::config::detail
