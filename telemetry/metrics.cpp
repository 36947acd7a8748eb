// telemetry/metrics.cpp — see metrics.h.
#include "telemetry/metrics.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "dns/resolver.h"

namespace ringmta::telemetry {

// SMTP transactions on a LAN take milliseconds; a slow client minutes.
const std::vector<double> kSmtpTransactionBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                     2.5,   5,    10,    30,   60,  120, 300};
// Accept -> delivered: milliseconds on the first try, hours through retries.
const std::vector<double> kDeliveryBuckets = {0.01, 0.05, 0.1, 0.25, 0.5, 1,    2.5,   5,     10,    30,
                                              60,   300,  900, 1800, 3600, 7200, 14400, 43200, 86400, 172800};
const std::vector<double> kDnsBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                         0.25,   0.5,   1,      2.5,   5,    10,    30};
const std::vector<double> kCommitBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096};
const std::vector<double> kFsyncBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5};

Histogram::Histogram(const std::vector<double>& bounds) : bounds_(&bounds), counts_(bounds.size() + 1, 0) {}

void Histogram::observe(double value) {
  // First bound >= value (Prometheus buckets are "le"); beyond all: +Inf.
  const size_t i = static_cast<size_t>(std::lower_bound(bounds_->begin(), bounds_->end(), value) - bounds_->begin());
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::merge(const Histogram& other) {
  for (size_t i = 0; i < counts_.size() && i < other.counts_.size(); ++i) counts_[i] += other.counts_[i];
  sum_ += other.sum_;
  count_ += other.count_;
}

const char* dns_outcome_label(DnsOutcome o) {
  switch (o) {
    case DnsOutcome::Ok: return "ok";
    case DnsOutcome::NxDomain: return "nxdomain";
    case DnsOutcome::NullMx: return "null_mx";
    case DnsOutcome::NoAddress: return "no_address";
    case DnsOutcome::TempFail: return "tempfail";
  }
  return "tempfail";
}

ShardMetrics::ShardMetrics()
    : smtp_transaction(kSmtpTransactionBuckets),
      smtp_commit(kFsyncBuckets),
      delivery_duration(kDeliveryBuckets),
      dns_lookup(kDnsBuckets) {}

void ShardMetrics::connection_opened(int listener) {
  if (listener < 0) return;
  const auto i = static_cast<size_t>(listener);
  if (connections_total.size() <= i) {
    connections_total.resize(i + 1, 0);
    connections_active.resize(i + 1, 0);
  }
  ++connections_total[i];
  ++connections_active[i];
}

void ShardMetrics::connection_closed(int listener) {
  if (listener < 0 || static_cast<size_t>(listener) >= connections_active.size()) return;
  --connections_active[static_cast<size_t>(listener)];
}

void ShardMetrics::tls_handshake(std::string_view direction, std::string_view version, bool ok, bool resumed) {
  ++tls_handshakes[{std::string(direction), std::string(version.empty() ? "unknown" : version),
                    ok ? "success" : "failure"}];
  if (ok && resumed) ++tls_resumed[std::string(direction)];
}

void tls_handshake_refused(std::string_view client_ip, bool per_client, std::string_view protocol) {
  ShardMetrics& m = local();
  ++(per_client ? m.tls_refused_client : m.tls_refused_total);
  static thread_local std::chrono::steady_clock::time_point last_line{};
  const auto now = std::chrono::steady_clock::now();
  if (now - last_line < std::chrono::seconds(1)) return;
  last_line = now;
  spdlog::warn("TLS handshake refused for [{}]{}: {} (further refusals this second are only counted)", client_ip,
               protocol.empty() ? std::string() : " (" + std::string(protocol) + ")",
               per_client ? "too many from this client (limits.tls_handshake_rate_per_ip)"
                          : "too many in total (limits.tls_handshake_rate)");
}

void ShardMetrics::dns_lookup_done(dns::ResultKind kind, std::chrono::steady_clock::time_point started) {
  DnsOutcome o = DnsOutcome::TempFail;
  switch (kind) {
    case dns::ResultKind::kOk: o = DnsOutcome::Ok; break;
    case dns::ResultKind::kNxDomain: o = DnsOutcome::NxDomain; break;
    case dns::ResultKind::kNullMx: o = DnsOutcome::NullMx; break;
    case dns::ResultKind::kNoAddress: o = DnsOutcome::NoAddress; break;
    case dns::ResultKind::kTempFail: o = DnsOutcome::TempFail; break;
  }
  ++dns_results[static_cast<size_t>(o)];
  dns_lookup.observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

void ShardMetrics::merge(const ShardMetrics& other) {
  if (connections_total.size() < other.connections_total.size()) {
    connections_total.resize(other.connections_total.size(), 0);
    connections_active.resize(other.connections_total.size(), 0);
  }
  for (size_t i = 0; i < other.connections_total.size(); ++i) {
    connections_total[i] += other.connections_total[i];
    connections_active[i] += other.connections_active[i];
  }
  smtp_transaction.merge(other.smtp_transaction);
  smtp_commit.merge(other.smtp_commit);
  delivery_duration.merge(other.delivery_duration);
  dns_lookup.merge(other.dns_lookup);
  for (size_t i = 0; i < kDnsOutcomes; ++i) dns_results[i] += other.dns_results[i];
  for (const auto& [key, n] : other.tls_handshakes) tls_handshakes[key] += n;
  for (const auto& [key, n] : other.tls_resumed) tls_resumed[key] += n;
  for (const auto& [key, n] : other.delivery_tls_policies) delivery_tls_policies[key] += n;
  auth_failures += other.auth_failures;
  bounces_generated += other.bounces_generated;
  proxy_refused += other.proxy_refused;
  paused_output += other.paused_output;
  paused_inflight += other.paused_inflight;
  tls_refused_total += other.tls_refused_total;
  tls_refused_client += other.tls_refused_client;
  pop3_sessions += other.pop3_sessions;
  for (size_t i = 0; i < pop3_logins.size(); ++i) pop3_logins[i] += other.pop3_logins[i];
  imap_sessions += other.imap_sessions;
  for (size_t i = 0; i < imap_logins.size(); ++i) imap_logins[i] += other.imap_logins[i];
  for (size_t i = 0; i < imap_commands.size(); ++i) imap_commands[i] += other.imap_commands[i];
  imap_bad_commands += other.imap_bad_commands;
  imap_bytes_sent += other.imap_bytes_sent;
  imap_fetched += other.imap_fetched;
  imap_idling += other.imap_idling;
  pop3_bytes_sent += other.pop3_bytes_sent;
  pop3_retrieved += other.pop3_retrieved;
  pop3_deleted += other.pop3_deleted;
  for (const auto& [key, n] : other.dkim_signed) dkim_signed[key] += n;
  dkim_sign_failures += other.dkim_sign_failures;
  for (size_t i = 0; i < delivery_auth.size(); ++i) delivery_auth[i] += other.delivery_auth[i];
  delivery_rate_limited += other.delivery_rate_limited;
}

ShardMetrics& local() {
  thread_local ShardMetrics metrics;
  return metrics;
}

CommitMetrics::CommitMetrics() : batch_size_(kCommitBatchBuckets), write_seconds_(kFsyncBuckets) {}

void CommitMetrics::observe(size_t batches, double write_seconds) {
  std::lock_guard lock(mu_);
  batch_size_.observe(static_cast<double>(batches));
  write_seconds_.observe(write_seconds);
}

void CommitMetrics::snapshot(Histogram& batch_size, Histogram& write_seconds) const {
  std::lock_guard lock(mu_);
  batch_size = batch_size_;
  write_seconds = write_seconds_;
}

}  // namespace ringmta::telemetry
