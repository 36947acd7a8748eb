// admin/metrics_server.h — the Prometheus endpoint: GET /metrics on
// metrics.listen (prometheus-cpp's Exposer, its own HTTP threads).
//
// A scrape asks every shard for a copy of its counters (Reactor::post, then a
// bounded wait on the scraping thread — a shard is never blocked or locked),
// adds the copies up, and adds the queue census (metrics_census.h, cached
// for a few seconds) and the commit thread's histograms. A shard that does
// not answer within the wait contributes its previous copy, so counters never
// go backwards; ringmta_metrics_stale_shards says how many did not answer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "queue/queue.h"
#include "config/config.h"
#include "telemetry/metrics.h"

namespace ringmta::limits {
class DiskGuard;
}
namespace ringmta::mailbox {
class Service;
}
namespace ringmta::relay {
struct ShardContext;
}

namespace ringmta::admin {

class MetricsServer {
 public:
  struct Sources {
    std::vector<relay::ShardContext*> shards;  // every shard, by id; outlive the server
    queue::Queue* queue = nullptr;
    std::shared_ptr<const config::Config> config;
    const telemetry::CommitMetrics* commit = nullptr;
    const limits::DiskGuard* disk = nullptr;  // queue.min_free_space; null = no disk gauges
    const mailbox::Service* mailboxes = nullptr;  // [mailbox] enabled; null = no mailbox gauges
  };

  // Listen on config->metrics.listen. Null (and *error set) if that fails.
  static std::unique_ptr<MetricsServer> start(Sources sources, std::string* error);
  // Stops the HTTP threads (a scrape in progress finishes first). Call
  // before the shards stop.
  ~MetricsServer();

  // The bound port(s) (the configured one; useful with port 0 in tests).
  std::vector<int> ports() const;

  struct Impl;

 private:
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ringmta::admin
