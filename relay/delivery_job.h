// relay/delivery_job.h — the hand-off between a message's owner shard (the
// scheduler, which keeps recipient state and writes the queue) and the shard
// that owns the destination (the delivery agent, which resolves MX hosts and
// talks SMTP). A message's recipients for one route become one DeliveryJob;
// the agent answers with exactly one JobResult holding a result per recipient.
//
// Both travel between threads by value (Reactor::post); the body is shared
// read-only, so a message is never copied per destination.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "proto/smtp/client_session.h"

namespace ringmta::relay {

struct DeliveryJob {
  std::string id;                 // queue ID (for logs)
  unsigned owner_shard = 0;       // where the result goes
  uint64_t activation = 0;        // owner's token: matches a result to its attempt
  std::string domain;             // recipient domain, lower case (route key input)
  smtp::OutboundEnvelope envelope;  // sender, params, the recipients of this job
  std::vector<uint32_t> indices;  // index in the stored envelope of each recipient
  std::shared_ptr<const std::string> body;  // stored bytes (Received: + message)
  int64_t arrival_ms = 0;         // for the delay= field of the log line
};

struct JobResult {
  std::string id;
  uint64_t activation = 0;
  std::vector<uint32_t> indices;                // as in the job
  std::vector<smtp::RecipientResult> results;   // one per index, same order
  std::string remote_host;    // MX host name of the attempt that decided ("" = none reached)
  std::string remote_addr;    // "ip:port" of that attempt ("" = none)
  bool remote_dsn = false;    // the remote offered DSN (parameters were passed on)
  std::string tls;            // "TLSv1.3 TLS_AES_256_GCM_SHA384" when that attempt used TLS, else ""
  std::string tls_policy;     // which policy decided its TLS (relay/tls_policy.h), "" when no host was tried
  bool local = false;         // local delivery into mailboxes (relay=local), not the delivery agent
  std::string auth;           // upstream login name of that attempt (delivery.credentials_file), else ""
  std::string source;         // local address the connection was bound to (delivery.source_address), else ""
  // [delivery.rate]: the job was not tried, its destination is over its rate;
  // keep the recipients queued this long (not an attempt: no retry backoff).
  int64_t rate_limited_ms = 0;
  std::string rate_rule;      // the rule's pattern, for the log line

  // Where each result was decided. The agent may send one job as several
  // transactions (delivery.max_recipients_per_transaction), over different
  // connections or MX hosts; a part that reached a server records it here
  // for its recipients. Empty when the job-level fields above hold for all.
  struct Via {
    std::string host, addr, tls;
  };
  std::vector<Via> vias;
  std::vector<int32_t> via_of;  // per result: index into vias, -1 = the job-level fields
  // The remote of result k (the job-level fields unless a part set its own).
  Via via(size_t k) const {
    if (k < via_of.size() && via_of[k] >= 0) return vias[static_cast<size_t>(via_of[k])];
    return Via{remote_host, remote_addr, tls};
  }
};

}  // namespace ringmta::relay
