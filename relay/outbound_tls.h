// relay/outbound_tls.h — the policy side of outbound TLS: which level
// (delivery.tls, [delivery.tls_policy]) applies to a recipient domain, and the
// two client contexts delivery uses.
//
// Contexts are built once (the daemon does it in its main thread before the
// shards start: loading CA files is blocking I/O) and shared by every shard's
// DeliveryAgent; tls::ClientContext::new_session() is thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "config/config.h"
#include "relay/mta_sts_fetcher.h"
#include "tls/tls.h"

namespace ringmta::relay {

struct OutboundTlsContexts {
  // "may" and "encrypt": the certificate is checked only to log whether it
  // was trusted; the handshake never fails on it.
  std::shared_ptr<tls::ClientContext> unverified;
  // "verify": the chain must verify against the system store (plus
  // delivery.tls_ca_file) and the certificate must name the host.
  std::shared_ptr<tls::ClientContext> verified;
  // delivery.dane: the DANE-enabled context (tls_policy.h), else null.
  std::shared_ptr<tls::ClientContext> dane;
  // delivery.mta_sts: the policy fetcher shared by every shard, else null.
  // Its cache lives in DATA_DIR/mta-sts ("" data_dir: memory only).
  std::shared_ptr<MtaStsFetcher> mta_sts;

  // The contexts, or null with `error` ("delivery.tls_ca_file: cannot load
  // trusted CAs from ...").
  static std::shared_ptr<const OutboundTlsContexts> create(const config::Config::Delivery& delivery, std::string* error,
                                                           const std::string& data_dir = {});
};

// The level for mail to `domain` (lower case): its [delivery.tls_policy]
// entry, else delivery.tls.
config::OutboundTls tls_level(const config::Config::Delivery& delivery, std::string_view domain);

// TLS is required: never deliver in plaintext.
inline bool tls_required(config::OutboundTls level) { return level == config::OutboundTls::Encrypt || level == config::OutboundTls::Verify; }

}  // namespace ringmta::relay
