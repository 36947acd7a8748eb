// config/config_tls.cpp — the [tls] table and its [[tls.sni]] entries (see
// config.h and deploy/ringmta.toml). Only the shape is checked here; whether
// the files exist, parse and match is checked when the daemon loads them
// (tls::ServerContext), with the OpenSSL reason in the message.
#include <algorithm>

#include "config/config_internal.h"

namespace ringmta::config::detail {
namespace {

// A file path: a non-empty string without NUL.
std::optional<std::string> path(Validator& v, const toml::node& n, const std::string& key) {
  auto s = v.string(n, key);
  if (!s) return std::nullopt;
  if (s->empty() || s->find('\0') != std::string::npos) {
    v.expected(n, key, "a file path");
    return std::nullopt;
  }
  return s;
}

// certificate + private_key of `t` (both or neither; `required` = both).
void read_pair(Validator& v, const toml::table& t, const std::string& prefix, bool required, std::string& cert,
               std::string& key) {
  const toml::node* c = t.get("certificate");
  const toml::node* k = t.get("private_key");
  if (c)
    if (auto p = path(v, *c, prefix + ".certificate")) cert = *p;
  if (k)
    if (auto p = path(v, *k, prefix + ".private_key")) key = *p;
  if (c && !k)
    v.error(Validator::line_of(*c), prefix + ".private_key", "required with " + prefix + ".certificate");
  else if (k && !c)
    v.error(Validator::line_of(*k), prefix + ".certificate", "required with " + prefix + ".private_key");
  else if (!c && !k && required)
    v.error(Validator::line_of(t), prefix + ".certificate", "required key is missing (with private_key)");
}

void read_sni(Validator& v, const toml::node& node, std::vector<Config::Tls::Sni>& out) {
  const auto* array = node.as_array();
  if (!array || !array->is_array_of_tables()) {
    v.expected(node, "tls.sni", "an array of tables ([[tls.sni]] sections)");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const auto& t = *array->get(i)->as_table();
    const std::string prefix = "tls.sni[" + std::to_string(i) + "]";
    v.check_keys(t, "tls.sni", prefix);
    Config::Tls::Sni sni;
    read_pair(v, t, prefix, true, sni.certificate, sni.private_key);
    if (const auto* n = t.get("names")) {
      v.strings(*n, prefix + ".names", [&](const std::string& s, const toml::node& item, const std::string& key) {
        std::string lower = base::to_lower_ascii(s);
        // "*.example.com": a wildcard for exactly one leading label.
        std::string_view domain = lower;
        if (domain.size() > 2 && domain.substr(0, 2) == "*.") domain.remove_prefix(2);
        if (auto why = domain_problem(domain); !why.empty())
          v.error(Validator::line_of(item), key, "invalid host name " + describe(item) + ": " + why);
        else if (std::find(sni.names.begin(), sni.names.end(), lower) == sni.names.end())
          sni.names.push_back(lower);
      });
      if (n->is_array() && n->as_array()->empty())
        v.error(Validator::line_of(*n), prefix + ".names", "at least one host name is needed");
    } else {
      v.error(Validator::line_of(t), prefix + ".names", "required key is missing (e.g. names = [\"mail.example.org\"])");
    }
    out.push_back(std::move(sni));
  }
}

}  // namespace

void read_tls(Validator& v, const toml::table& t, Config::Tls& out) {
  read_pair(v, t, "tls", false, out.certificate, out.private_key);
  if (const auto* n = t.get("sni")) read_sni(v, *n, out.sni);
  if (const auto* n = t.get("resumption"))
    if (auto b = v.boolean(*n, "tls.resumption")) out.resumption = *b;
}

}  // namespace ringmta::config::detail
