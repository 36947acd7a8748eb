// telemetry/metrics.h — shard-local metric counting for Prometheus (/metrics).
//
// Every shard thread counts into its own ShardMetrics (a thread_local: the
// hooks in inbound, scheduler and delivery code are plain increments — no
// atomics, no locks, no shared cache lines on the hot path). At scrape time
// the collector (metrics_collector.h) posts a copy request to each shard,
// waits for the copies and adds them up. The one non-shard writer, the
// queue's commit thread, has its own CommitMetrics under a mutex (one lock
// per group commit, not per message).
//
// Histograms here are fixed-bucket counters (bucket i counts observations
// <= bounds[i], the last bucket is +Inf); the collector makes them cumulative
// as Prometheus wants.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace ringmta::dns {
enum class ResultKind : uint8_t;
}

namespace ringmta::telemetry {

// Bucket upper bounds (seconds, or messages for the commit batch size).
extern const std::vector<double> kSmtpTransactionBuckets;
extern const std::vector<double> kDeliveryBuckets;
extern const std::vector<double> kDnsBuckets;
extern const std::vector<double> kCommitBatchBuckets;
extern const std::vector<double> kFsyncBuckets;

class Histogram {
 public:
  explicit Histogram(const std::vector<double>& bounds);
  void observe(double value);
  void merge(const Histogram& other);  // same bounds

  const std::vector<double>& bounds() const { return *bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, +Inf last
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  const std::vector<double>* bounds_;
  std::vector<uint64_t> counts_;
  double sum_ = 0;
  uint64_t count_ = 0;
};

// How a delivery DNS lookup ended (dns::ResultKind, by name for the label).
enum class DnsOutcome : uint8_t { Ok, NxDomain, NullMx, NoAddress, TempFail };
constexpr size_t kDnsOutcomes = 5;
const char* dns_outcome_label(DnsOutcome o);  // "ok", "nxdomain", "null_mx", "no_address", "tempfail"

struct ShardMetrics {
  ShardMetrics();

  // Inbound connections by listener index (config::Config::listeners order).
  std::vector<uint64_t> connections_total;
  std::vector<int64_t> connections_active;
  Histogram smtp_transaction;   // MAIL accepted -> final reply to the end of data
  Histogram smtp_commit;        // end of data -> its queue write durable, back on the shard
  Histogram delivery_duration;  // accept -> recipient delivered
  Histogram dns_lookup;         // one delivery lookup (MX or host), cache hits included
  std::array<uint64_t, kDnsOutcomes> dns_results{};
  // (direction, version, result) -> handshakes.
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> tls_handshakes;
  std::map<std::string, uint64_t> tls_resumed;  // direction -> successful abbreviated handshakes
  // (policy, result) -> outbound connections (relay/tls_policy.h): policy
  // dane/mta-sts/static/opportunistic; result ok (ready for mail),
  // tls_failed (handshake or certificate/TLSA check failed), refused (the
  // policy ruled the MX host out).
  std::map<std::pair<std::string, std::string>, uint64_t> delivery_tls_policies;
  uint64_t auth_failures = 0;
  uint64_t bounces_generated = 0;   // non-delivery notices (DSNs) queued
  uint64_t proxy_refused = 0;       // connections without a valid PROXY header
  // Inbound sessions that stopped reading: the client did not read our
  // replies (output), or limits.inflight_memory was exhausted (inflight).
  uint64_t paused_output = 0;
  uint64_t paused_inflight = 0;
  // TLS handshakes not started: the total or the client's budget was spent.
  uint64_t tls_refused_total = 0;
  uint64_t tls_refused_client = 0;
  // POP3 (access/pop3_session.cpp). Logins by result: ok, invalid (bad
  // credentials), throttled (auth.max_failures), in_use (maildrop locked),
  // failed (store or users file unavailable).
  uint64_t pop3_sessions = 0;
  std::array<uint64_t, 5> pop3_logins{};
  uint64_t pop3_bytes_sent = 0;      // RETR message octets sent (before dot-stuffing)
  uint64_t pop3_retrieved = 0;       // RETR commands answered with the whole message
  uint64_t pop3_deleted = 0;         // messages removed by QUIT
  // IMAP (access/imap_*.cpp). Logins by result: ok, invalid, throttled,
  // failed; commands by imap::Name (proto/imap/command.h) as index.
  uint64_t imap_sessions = 0;
  std::array<uint64_t, 4> imap_logins{};
  std::array<uint64_t, 40> imap_commands{};
  uint64_t imap_bad_commands = 0;
  uint64_t imap_bytes_sent = 0;      // everything sent (before TLS and COMPRESS)
  uint64_t imap_fetched = 0;         // messages answered in FETCH responses
  int64_t imap_idling = 0;           // sessions in IDLE now (a gauge)
  void imap_command(size_t index) {
    if (index < imap_commands.size()) ++imap_commands[index];
  }
  // DKIM (relay/inbound_dkim.cpp): messages signed by (domain, algorithm),
  // and signing failures (those went on unsigned).
  std::map<std::pair<std::string, std::string>, uint64_t> dkim_signed;
  uint64_t dkim_sign_failures = 0;
  // Upstream AUTH (relay/outbound.cpp) by result: ok, failed (refused or no
  // answer), no_tls (credentials not sent: no TLS), no_mechanism.
  std::array<uint64_t, 4> delivery_auth{};
  uint64_t delivery_rate_limited = 0;  // jobs held back by [delivery.rate] (relay/destination_rate.h)

  void connection_opened(int listener);
  void connection_closed(int listener);
  // direction: "inbound" / "outbound"; version e.g. "TLSv1.3" ("unknown" on failure);
  // resumed: a session was resumed (counted in tls_resumed too).
  void tls_handshake(std::string_view direction, std::string_view version, bool ok, bool resumed = false);
  void dns_lookup_done(dns::ResultKind kind, std::chrono::steady_clock::time_point started);
  void delivery_tls_policy(std::string_view policy, std::string_view result) {
    ++delivery_tls_policies[{std::string(policy), std::string(result)}];
  }
  void merge(const ShardMetrics& other);
};

// This thread's metrics. On a shard thread: that shard's. Other threads
// (unit tests) get their own instance nobody reads.
ShardMetrics& local();

// A TLS handshake the limits.tls_handshake_rate budget refused (for one
// client: `per_client`, else the total), for every server protocol: counted
// in this thread's metrics and logged at most once a second per shard (a
// flood would write a line per handshake; the metric counts them all).
// `protocol` ("" for SMTP, "pop3", "imap") is named in the line.
void tls_handshake_refused(std::string_view client_ip, bool per_client, std::string_view protocol);

// Group-commit histograms, written by the queue's commit thread.
class CommitMetrics {
 public:
  CommitMetrics();
  void observe(size_t batches, double write_seconds);
  void snapshot(Histogram& batch_size, Histogram& write_seconds) const;

 private:
  mutable std::mutex mu_;
  Histogram batch_size_;
  Histogram write_seconds_;
};

}  // namespace ringmta::telemetry
