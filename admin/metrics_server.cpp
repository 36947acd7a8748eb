// admin/metrics_server.cpp — see metrics_server.h. The metric names, types
// and help texts operators see are all here, in Collector::Collect().
#include "admin/metrics_server.h"

#include "limits/inflight_budget.h"
#include "proto/imap/command.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <limits>
#include <mutex>
#include <optional>

#include "base/clock.h"
#include "relay/delivery_agent.h"
#include "limits/inflight_budget.h"
#include "limits/disk_guard.h"
#include "mailbox/service.h"
#include "admin/metrics_census.h"
#include "relay/scheduler.h"
#include "relay/shard.h"
#include "relay/shard_ask.h"

namespace ringmta::admin {

// The relay types this file wires together.
using relay::DownDestinations;
using relay::ShardContext;
using relay::ShardCounters;

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

constexpr auto kShardWait = std::chrono::milliseconds(2000);  // per scrape, all shards together
constexpr int64_t kCensusMaxAgeMs = 5000;                      // queue scan at most this often


// What one shard hands back: its metrics and counters, copied on its thread.
struct ShardSnapshot {
  telemetry::ShardMetrics m;
  ShardCounters counters;
  uint64_t in_memory = 0;  // messages its scheduler holds (in flight)
  std::vector<relay::DownDestinations::Live> down;  // its delivery agent's down destinations
  size_t down_destinations = 0;              // in the sum: distinct keys over all shards
};

MetricFamily family(std::string name, std::string help, MetricType type) {
  MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

void add_value(MetricFamily& f, double value, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (f.type == MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

MetricFamily scalar(std::string name, std::string help, MetricType type, double value) {
  MetricFamily f = family(std::move(name), std::move(help), type);
  add_value(f, value);
  return f;
}

MetricFamily histogram(std::string name, std::string help, const telemetry::Histogram& h) {
  MetricFamily f = family(std::move(name), std::move(help), MetricType::Histogram);
  ClientMetric m;
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.counts().size(); ++i) {
    cumulative += h.counts()[i];
    const double le = i < h.bounds().size() ? h.bounds()[i] : std::numeric_limits<double>::infinity();
    m.histogram.bucket.push_back({cumulative, le});
  }
  m.histogram.sample_count = h.count();
  m.histogram.sample_sum = h.sum();
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

class Collector final : public prometheus::Collectable {
 public:
  explicit Collector(MetricsServer::Sources s) : src_(std::move(s)), last_(src_.shards.size()) {}

  std::vector<MetricFamily> Collect() const override {
    std::lock_guard lock(mu_);  // the exposer may serve two scrapes at once
    size_t stale = 0;
    ShardSnapshot sum = gather(stale);
    refresh_census();
    return families(sum, stale);
  }

 private:
  // Ask every shard for a snapshot; wait at most kShardWait in total.
  ShardSnapshot gather(size_t& stale) const {
    auto got = relay::ask_shards(
        src_.shards,
        [](ShardContext& ctx) {
          ShardSnapshot s;
          s.m = telemetry::local();
          s.counters = ctx.counters;
          s.in_memory = ctx.scheduler ? ctx.scheduler->in_memory() : 0;
          if (ctx.agent) s.down = ctx.agent->down_list();
          return s;
        },
        kShardWait);
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i]) {
        last_[i] = std::move(*got[i]);
      } else {
        ++stale;  // busy or stopped: its previous copy keeps counters monotonic
      }
    }
    if (stale > 0) spdlog::warn("metrics: {} shard(s) did not answer within {} ms", stale, kShardWait.count());
    ShardSnapshot sum;
    for (const auto& s : last_) {
      sum.m.merge(s.m);
      sum.counters.connections += s.counters.connections;
      sum.counters.messages_accepted += s.counters.messages_accepted;
      sum.counters.commit_failures += s.counters.commit_failures;
      sum.counters.recipients_delivered += s.counters.recipients_delivered;
      sum.counters.recipients_deferred += s.counters.recipients_deferred;
      sum.counters.recipients_bounced += s.counters.recipients_bounced;
      sum.counters.notices_generated += s.counters.notices_generated;
      sum.counters.local_deliveries += s.counters.local_deliveries;
      sum.in_memory += s.in_memory;
    }
    std::vector<std::vector<relay::DownDestinations::Live>> down;
    for (const auto& s : last_) down.push_back(s.down);
    sum.down_destinations = DownDestinations::merge(down).size();
    return sum;
  }

  void refresh_census() const {
    const int64_t now = base::unix_ms();
    if (census_ms_ != 0 && now - census_ms_ < kCensusMaxAgeMs) return;
    admin::QueueCensus c = admin::take_census(*src_.queue, now, src_.config->metrics.top_destinations);
    if (!c.ok) {
      spdlog::error("metrics: cannot read the queue: {}", c.error);
      return;  // keep the previous census
    }
    census_ = std::move(c);
    census_ms_ = now;
  }

  std::vector<MetricFamily> families(const ShardSnapshot& s, size_t stale) const {
    std::vector<MetricFamily> out;
    const auto& listeners = src_.config->listeners;
    MetricFamily conns = family("ringmta_connections_total", "Inbound connections accepted, by listener address.",
                                MetricType::Counter);
    MetricFamily active = family("ringmta_connections_active", "Inbound connections open now, by listener address.",
                                 MetricType::Gauge);
    for (size_t i = 0; i < listeners.size(); ++i) {
      const std::vector<ClientMetric::Label> l = {{"listener", listeners[i].address_text}};
      add_value(conns, i < s.m.connections_total.size() ? static_cast<double>(s.m.connections_total[i]) : 0, l);
      add_value(active, i < s.m.connections_active.size() ? static_cast<double>(s.m.connections_active[i]) : 0, l);
    }
    out.push_back(std::move(conns));
    out.push_back(std::move(active));

    const auto counter = [&](const char* name, const char* help, double v) {
      out.push_back(scalar(name, help, MetricType::Counter, v));
    };
    counter("ringmta_messages_received_total", "Messages accepted (durably queued, 250 sent).",
            static_cast<double>(s.counters.messages_accepted));
    counter("ringmta_queue_commit_failures_total", "Accepted-message queue writes that failed (451/452 sent).",
            static_cast<double>(s.counters.commit_failures));
    counter("ringmta_recipients_delivered_total", "Recipient deliveries accepted by the next hop.",
            static_cast<double>(s.counters.recipients_delivered));
    counter("ringmta_recipients_deferred_total", "Recipient delivery attempts that failed temporarily (retried).",
            static_cast<double>(s.counters.recipients_deferred));
    counter("ringmta_recipients_bounced_total", "Recipients that failed permanently or expired (bounced).",
            static_cast<double>(s.counters.recipients_bounced));
    counter("ringmta_local_deliveries_total", "Messages delivered into local mailboxes (one per user reached).",
            static_cast<double>(s.counters.local_deliveries));
    counter("ringmta_bounces_generated_total", "Non-delivery notifications (DSNs) queued for senders.",
            static_cast<double>(s.m.bounces_generated));
    counter("ringmta_auth_failures_total", "SMTP AUTH attempts refused (bad credentials or throttled).",
            static_cast<double>(s.m.auth_failures));
    counter("ringmta_proxy_protocol_refused_total",
            "Connections closed on proxy_protocol listeners for a missing or invalid PROXY header.",
            static_cast<double>(s.m.proxy_refused));
    counter("ringmta_pop3_sessions_total", "POP3 connections that reached the greeting.",
            static_cast<double>(s.m.pop3_sessions));
    MetricFamily pop3_logins = family("ringmta_pop3_logins_total",
                                      "POP3 logins by result: ok, invalid (bad credentials), throttled "
                                      "(auth.max_failures), in_use (maildrop locked by another session), failed "
                                      "(store or users file unavailable).",
                                      MetricType::Counter);
    const char* pop3_results[] = {"ok", "invalid", "throttled", "in_use", "failed"};
    for (size_t i = 0; i < s.m.pop3_logins.size(); ++i)
      add_value(pop3_logins, static_cast<double>(s.m.pop3_logins[i]), {{"result", pop3_results[i]}});
    out.push_back(std::move(pop3_logins));
    counter("ringmta_pop3_bytes_sent_total", "POP3 message octets sent by RETR (as stored, before dot-stuffing).",
            static_cast<double>(s.m.pop3_bytes_sent));
    counter("ringmta_pop3_messages_retrieved_total", "POP3 RETR commands that sent a whole message.",
            static_cast<double>(s.m.pop3_retrieved));
    counter("ringmta_pop3_messages_deleted_total", "Messages removed from maildrops by POP3 QUIT.",
            static_cast<double>(s.m.pop3_deleted));
    counter("ringmta_imap_sessions_total", "IMAP connections that reached the greeting.",
            static_cast<double>(s.m.imap_sessions));
    MetricFamily imap_logins = family("ringmta_imap_logins_total",
                                      "IMAP logins by result: ok, invalid (bad credentials), throttled "
                                      "(auth.max_failures), failed (store, users file or mailbox unavailable).",
                                      MetricType::Counter);
    const char* imap_results[] = {"ok", "invalid", "throttled", "failed"};
    for (size_t i = 0; i < s.m.imap_logins.size(); ++i)
      add_value(imap_logins, static_cast<double>(s.m.imap_logins[i]), {{"result", imap_results[i]}});
    out.push_back(std::move(imap_logins));
    MetricFamily imap_commands = family("ringmta_imap_commands_total",
                                        "IMAP commands parsed, by command name (UID variants count as the command).",
                                        MetricType::Counter);
    for (size_t i = 0; i <= static_cast<size_t>(imap::Name::GetQuotaRoot) && i < s.m.imap_commands.size(); ++i)
      add_value(imap_commands, static_cast<double>(s.m.imap_commands[i]),
                {{"command", std::string(imap::name_text(static_cast<imap::Name>(i)))}});
    out.push_back(std::move(imap_commands));
    counter("ringmta_imap_bad_commands_total", "IMAP commands answered BAD.",
            static_cast<double>(s.m.imap_bad_commands));
    counter("ringmta_imap_bytes_sent_total", "IMAP bytes sent (before COMPRESS and TLS).",
            static_cast<double>(s.m.imap_bytes_sent));
    counter("ringmta_imap_messages_fetched_total", "Messages answered in IMAP FETCH responses.",
            static_cast<double>(s.m.imap_fetched));
    out.push_back(scalar("ringmta_imap_idle_sessions", "IMAP sessions in IDLE now.", MetricType::Gauge,
                         static_cast<double>(s.m.imap_idling)));
    MetricFamily dkim_signed = family("ringmta_dkim_signed_total",
                                      "Messages DKIM-signed before their queue write, by signing domain and algorithm.",
                                      MetricType::Counter);
    for (const auto& [key, n] : s.m.dkim_signed)
      add_value(dkim_signed, static_cast<double>(n), {{"domain", key.first}, {"algorithm", key.second}});
    out.push_back(std::move(dkim_signed));
    counter("ringmta_dkim_sign_failures_total", "DKIM signing failures (those messages were queued unsigned).",
            static_cast<double>(s.m.dkim_sign_failures));
    MetricFamily delivery_auth = family("ringmta_delivery_auth_total",
                                        "Upstream SMTP AUTH (delivery.credentials_file) by result: ok, failed "
                                        "(refused or unanswered; mail deferred), no_tls (not sent: no TLS), "
                                        "no_mechanism (neither PLAIN nor LOGIN offered).",
                                        MetricType::Counter);
    const char* auth_results[] = {"ok", "failed", "no_tls", "no_mechanism"};
    for (size_t i = 0; i < s.m.delivery_auth.size(); ++i)
      add_value(delivery_auth, static_cast<double>(s.m.delivery_auth[i]), {{"result", auth_results[i]}});
    out.push_back(std::move(delivery_auth));
    counter("ringmta_delivery_rate_limited_total",
            "Delivery jobs held back by a [delivery.rate] limit (the mail waits in the queue).",
            static_cast<double>(s.m.delivery_rate_limited));
    MetricFamily paused = family("ringmta_smtp_reads_paused_total",
                                 "Times an inbound session stopped reading its client: reason=output (the client "
                                 "does not read our replies), reason=inflight (limits.inflight_memory reached).",
                                 MetricType::Counter);
    add_value(paused, static_cast<double>(s.m.paused_output), {{"reason", "output"}});
    add_value(paused, static_cast<double>(s.m.paused_inflight), {{"reason", "inflight"}});
    out.push_back(std::move(paused));
    MetricFamily tls_refused = family("ringmta_tls_handshakes_refused_total",
                                      "TLS handshakes not started (STARTTLS answered 454, implicit TLS closed): "
                                      "reason=total (limits.tls_handshake_rate), reason=client "
                                      "(limits.tls_handshake_rate_per_ip).",
                                      MetricType::Counter);
    add_value(tls_refused, static_cast<double>(s.m.tls_refused_total), {{"reason", "total"}});
    add_value(tls_refused, static_cast<double>(s.m.tls_refused_client), {{"reason", "client"}});
    out.push_back(std::move(tls_refused));
    if (!src_.shards.empty() && src_.shards.front()->inflight) {
      const limits::InflightBudget& b = *src_.shards.front()->inflight;
      out.push_back(scalar("ringmta_inflight_memory_bytes",
                           "Message bodies held in memory before their queue write, all sessions.",
                           MetricType::Gauge, static_cast<double>(b.used())));
      out.push_back(scalar("ringmta_inflight_memory_limit_bytes", "limits.inflight_memory.", MetricType::Gauge,
                           static_cast<double>(b.limit())));
    }

    MetricFamily q = family("ringmta_queue_messages",
                            "Messages in the queue by state: ready (due now), scheduled (waiting for a retry time), "
                            "held; in_flight: messages in the schedulers' memory for an attempt (also counted in "
                            "ready or scheduled).",
                            MetricType::Gauge);
    add_value(q, static_cast<double>(census_.scheduled), {{"state", "scheduled"}});
    add_value(q, static_cast<double>(census_.ready), {{"state", "ready"}});
    add_value(q, static_cast<double>(s.in_memory), {{"state", "in_flight"}});
    add_value(q, static_cast<double>(census_.held), {{"state", "held"}});
    out.push_back(std::move(q));
    out.push_back(scalar("ringmta_queue_oldest_age_seconds", "Age of the oldest message in the queue (0 when empty).",
                         MetricType::Gauge, census_.oldest_age_seconds));
    if (const limits::DiskGuard* disk = src_.disk) {
      out.push_back(scalar("ringmta_queue_disk_free_bytes",
                           "Bytes free for ringmta in the file system of server.data_dir (checked every second).",
                           MetricType::Gauge, static_cast<double>(disk->free_bytes())));
      out.push_back(scalar("ringmta_queue_disk_min_free_bytes",
                           "queue.min_free_space: below this many free bytes new mail is refused (0 = no guard).",
                           MetricType::Gauge, static_cast<double>(disk->min_free_space())));
      out.push_back(scalar("ringmta_queue_disk_low",
                           "1 while free space is below queue.min_free_space and new mail gets 452 4.3.1, else 0.",
                           MetricType::Gauge, disk->low() ? 1.0 : 0.0));
      counter("ringmta_smtp_refused_disk_low_total",
              "MAIL FROM commands and messages refused with 452 4.3.1 because free space was below "
              "queue.min_free_space.",
              static_cast<double>(disk->refusals()));
    }

    if (const mailbox::Service* mb = src_.mailboxes) {
      const mailbox::Service::Summary m = mb->summary();
      out.push_back(scalar("ringmta_mailbox_users", "Local users with at least one stored message.",
                           MetricType::Gauge, static_cast<double>(m.users)));
      out.push_back(scalar("ringmta_mailbox_messages", "Messages stored in local mailboxes, all users.",
                           MetricType::Gauge, static_cast<double>(m.totals.messages)));
      out.push_back(scalar("ringmta_mailbox_bytes", "Bytes stored in local mailboxes, all users (what quota counts).",
                           MetricType::Gauge, static_cast<double>(m.totals.bytes)));
    }

    MetricFamily dq = family("ringmta_destination_queue_messages",
                             "Queued messages with a pending recipient in the domain; the top "
                             "metrics.top_destinations domains, the rest summed as domain=\"other\".",
                             MetricType::Gauge);
    MetricFamily de = family("ringmta_destination_last_error_info",
                             "The newest delivery error per top destination domain (value 1; the error is a label).",
                             MetricType::Gauge);
    for (const auto& d : census_.destinations) {
      add_value(dq, static_cast<double>(d.messages), {{"domain", d.domain}});
      if (!d.last_error.empty()) add_value(de, 1, {{"domain", d.domain}, {"error", d.last_error}});
    }
    out.push_back(std::move(dq));
    out.push_back(std::move(de));

    out.push_back(histogram("ringmta_delivery_duration_seconds",
                            "Time from acceptance to delivery, per delivered recipient.", s.m.delivery_duration));
    out.push_back(histogram("ringmta_smtp_transaction_seconds",
                            "Inbound SMTP transactions: MAIL FROM accepted to the reply after the message data.",
                            s.m.smtp_transaction));
    // The share of the client's wait that is ringmta's own (group commit and
    // the hop back to the shard), without the network and the client's
    // scheduling; a p99 here well under the clients' says the time is elsewhere.
    out.push_back(histogram("ringmta_smtp_commit_seconds",
                            "Inbound messages: end of the message data to its queue write being durable, "
                            "as the accepting shard sees it (the wait before the 250).",
                            s.m.smtp_commit));
    telemetry::Histogram batch(telemetry::kCommitBatchBuckets), fsync(telemetry::kFsyncBuckets);
    if (src_.commit) src_.commit->snapshot(batch, fsync);
    out.push_back(histogram("ringmta_queue_commit_batch_size", "Queue write batches merged into one group commit.",
                            batch));
    out.push_back(histogram("ringmta_queue_fsync_seconds",
                            "Duration of one group-commit write (synced in durability fsync mode).", fsync));
    out.push_back(histogram("ringmta_dns_lookup_seconds", "Delivery DNS lookups (MX or host), cache hits included.",
                            s.m.dns_lookup));
    MetricFamily dnsf = family("ringmta_dns_failures_total", "Delivery DNS lookups that failed, by kind.",
                               MetricType::Counter);
    for (size_t k = 1; k < telemetry::kDnsOutcomes; ++k)
      add_value(dnsf, static_cast<double>(s.m.dns_results[k]),
                {{"kind", telemetry::dns_outcome_label(static_cast<telemetry::DnsOutcome>(k))}});
    out.push_back(std::move(dnsf));
    MetricFamily tls = family("ringmta_tls_handshakes_total",
                              "TLS handshakes by direction (inbound/outbound), protocol version and result.",
                              MetricType::Counter);
    for (const auto& [key, n] : s.m.tls_handshakes)
      add_value(tls, static_cast<double>(n),
                {{"direction", std::get<0>(key)}, {"version", std::get<1>(key)}, {"result", std::get<2>(key)}});
    out.push_back(std::move(tls));
    MetricFamily tls_policy = family("ringmta_delivery_tls_policy_total",
                                     "Outbound connections by the TLS policy that decided (dane, mta-sts, static, "
                                     "opportunistic) and result (ok, tls_failed, refused).",
                                     MetricType::Counter);
    for (const auto& [key, n] : s.m.delivery_tls_policies)
      add_value(tls_policy, static_cast<double>(n), {{"policy", key.first}, {"result", key.second}});
    out.push_back(std::move(tls_policy));
    MetricFamily resumed = family("ringmta_tls_resumed_total",
                                  "Successful TLS handshakes that resumed a session (no full handshake), by "
                                  "direction (inbound: tls.resumption; outbound: delivery.tls_resumption).",
                                  MetricType::Counter);
    for (const char* direction : {"inbound", "outbound"}) {
      auto it = s.m.tls_resumed.find(direction);
      add_value(resumed, it == s.m.tls_resumed.end() ? 0.0 : static_cast<double>(it->second),
                {{"direction", direction}});
    }
    out.push_back(std::move(resumed));
    out.push_back(scalar("ringmta_destinations_down",
                         "Destinations marked down (delivery.destination_down_time): their mail is deferred "
                         "without a connection until the time is up; `ringmtactl destination list` names them.",
                         MetricType::Gauge, static_cast<double>(s.down_destinations)));
    out.push_back(scalar("ringmta_metrics_stale_shards",
                         "Shards that did not answer this scrape in time (their previous values are shown).",
                         MetricType::Gauge, static_cast<double>(stale)));
    return out;
  }

  const MetricsServer::Sources src_;
  mutable std::mutex mu_;
  mutable std::vector<ShardSnapshot> last_;
  mutable admin::QueueCensus census_;
  mutable int64_t census_ms_ = 0;
};

struct MetricsServer::Impl {
  std::shared_ptr<Collector> collector;
  std::unique_ptr<prometheus::Exposer> exposer;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

MetricsServer::~MetricsServer() {
  // Destroying the exposer stops civetweb and joins its threads, so no
  // Collect() is running or will run once this returns.
  impl_->exposer.reset();
}

std::unique_ptr<MetricsServer> MetricsServer::start(Sources sources, std::string* error) {
  const std::string listen = sources.config->metrics.listen;
  auto impl = std::make_unique<Impl>();
  impl->collector = std::make_shared<Collector>(std::move(sources));
  try {
    impl->exposer = std::make_unique<prometheus::Exposer>(listen, 2);
  } catch (const std::exception& e) {
    if (error) *error = std::string("cannot listen on ") + listen + " for metrics: " + e.what();
    return nullptr;
  }
  impl->exposer->RegisterCollectable(impl->collector, "/metrics");
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

std::vector<int> MetricsServer::ports() const { return impl_->exposer->GetListeningPorts(); }

}  // namespace ringmta::admin
