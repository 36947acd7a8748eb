// relay/outbound_tls.cpp — see outbound_tls.h.
#include "relay/outbound_tls.h"

namespace ringmta::relay {

std::shared_ptr<const OutboundTlsContexts> OutboundTlsContexts::create(const config::Config::Delivery& delivery,
                                                                       std::string* error,
                                                                       const std::string& data_dir) {
  auto out = std::make_shared<OutboundTlsContexts>();
  tls::ClientOptions o;
  o.ca_file = delivery.tls_ca_file;
  o.also_system_store = true;  // tls_ca_file adds to the system store
  // Outbound interop: a receiver that only speaks older TLS 1.2 suites should
  // still get encryption rather than plaintext. OpenSSL's DEFAULT list has no
  // NULL/export/anonymous suites; TLS 1.0/1.1 stay off (tls/ sets 1.2 minimum).
  o.ciphers = "DEFAULT";
  std::string why;
  o.verify = tls::Verify::None;
  out->unverified = tls::ClientContext::create(o, &why);
  if (out->unverified) {
    o.verify = tls::Verify::Chain;
    out->verified = tls::ClientContext::create(o, &why);
  }
  if (out->verified && delivery.dane) {
    o.dane = true;  // verification is OpenSSL's DANE code, per session
    out->dane = tls::ClientContext::create(o, &why);
    if (!out->dane) out->verified.reset();
  }
  if (!out->unverified || !out->verified) {
    if (error) *error = (delivery.tls_ca_file.empty() ? std::string("outbound TLS: ") : "delivery.tls_ca_file: ") + why;
    return nullptr;
  }
  if (delivery.mta_sts) {
    MtaStsFetcher::Options fo;
    fo.cache_dir = data_dir.empty() ? "" : data_dir + "/mta-sts";
    fo.ca_file = delivery.tls_ca_file;
    fo.port = delivery.mta_sts_port;
    out->mta_sts = std::make_shared<MtaStsFetcher>(fo);
  }
  return out;
}

config::OutboundTls tls_level(const config::Config::Delivery& delivery, std::string_view domain) {
  if (auto it = delivery.tls_policy.find(std::string(domain)); it != delivery.tls_policy.end()) return it->second;
  return delivery.tls;
}

}  // namespace ringmta::relay
