// config/config_tls_policy.cpp — the [delivery] keys of MTA-STS (RFC 8461)
// and DANE (RFC 7672): delivery.mta_sts, delivery.mta_sts_port,
// delivery.dane and delivery.dnssec_resolver. What they do is in
// relay/tls_policy.h and deploy/ringmta.toml; here they are only read and
// checked. Its own file so the TLS policy keys stay apart from the rest of
// [delivery] (config_delivery.cpp calls read_delivery_tls_policy()).
#include "config/config_internal.h"

namespace ringmta::config::detail {

void read_delivery_tls_policy(Validator& v, const toml::table& t, Config::Delivery& out) {
  if (const auto* n = t.get("mta_sts"))
    if (auto b = v.boolean(*n, "delivery.mta_sts")) out.mta_sts = *b;
  if (const auto* n = t.get("mta_sts_port"))
    if (auto p = v.integer(*n, "delivery.mta_sts_port", 1, 65535, "a port number from 1 to 65535"))
      out.mta_sts_port = static_cast<uint16_t>(*p);
  if (const auto* n = t.get("dane"))
    if (auto b = v.boolean(*n, "delivery.dane")) out.dane = *b;
  if (const auto* n = t.get("dnssec_resolver")) {
    if (auto s = v.string(*n, "delivery.dnssec_resolver")) {
      if (auto why = dns_server_problem(*s); !s->empty() && !why.empty())
        v.error(Validator::line_of(*n), "delivery.dnssec_resolver",
                "invalid resolver address " + describe(*n) + ": " + why);
      else
        out.dnssec_resolver = *s;
    }
  }
  // A validating resolver named but DANE off is almost certainly a mistake.
  if (!out.dnssec_resolver.empty() && !out.dane)
    if (const auto* n = t.get("dnssec_resolver"))
      v.error(Validator::line_of(*n), "delivery.dnssec_resolver", "is only used with delivery.dane = true");
}

}  // namespace ringmta::config::detail
