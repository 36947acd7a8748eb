// bench/micro/queue_bench.cpp — enqueue + commit of one 4 KiB message per
// iteration: the in-memory queue (the API's own overhead) and the RocksDB
// queue in both durability modes (fsync: synced WAL per group commit; wal:
// written, not synced).
//
// range(1) is how many commits may be outstanding at once, like that many SMTP
// sessions each waiting for its 250: 1 measures the latency of one durable
// commit, 256 the throughput group commit reaches. The database lives in a
// fresh directory under $RINGMTA_MICRO_DIR (else $TMPDIR, else /tmp), so put
// that on the disk you want to measure; it is removed afterwards.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <semaphore>
#include <string>

#include "queue/queue.h"
#include "queue/queue_id.h"

namespace q = ringmta::queue;

namespace {

enum Backend : int64_t { kMemory = 0, kFsync = 1, kWal = 2 };

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("RINGMTA_MICRO_DIR");
    if (!base || !*base) base = getenv("TMPDIR");
    path_ = std::string(base && *base ? base : "/tmp") + "/ringmta-micro-XXXXXX";
    if (!mkdtemp(path_.data())) path_.clear();
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

q::Envelope envelope(std::string id) {
  q::Envelope e;
  e.id = std::move(id);
  e.sender = "sender@client.example";
  e.helo = "client.example";
  e.client_address = "127.0.0.1";
  e.arrival_ms = 1'700'000'000'000;
  e.size = 4096;
  q::Recipient r;
  r.address = "rcpt@example.com";
  r.next_attempt_ms = e.arrival_ms;
  e.recipients.push_back(std::move(r));
  return e;
}

void BM_QueueCommit(benchmark::State& state) {
  const auto backend = static_cast<Backend>(state.range(0));
  const auto inflight = static_cast<std::ptrdiff_t>(state.range(1));
  TempDir dir;
  std::unique_ptr<q::Queue> queue;
  if (backend == kMemory) {
    queue = q::make_memory_queue();
  } else {
    if (dir.path().empty()) {
      state.SkipWithError("cannot create a temporary directory");
      return;
    }
    q::RocksDbOptions options;
    options.path = dir.path() + "/db";
    options.durability = backend == kFsync ? q::Durability::Fsync : q::Durability::Wal;
    if (q::Status s = q::open_rocksdb_queue(options, queue); !s.ok()) {
      state.SkipWithError(("open: " + s.message).c_str());
      return;
    }
  }
  const std::string body(4096, 'x');
  q::QueueIdGenerator ids(0);
  std::counting_semaphore<> slots(inflight);
  std::atomic<uint64_t> failed{0};
  for (auto _ : state) {
    slots.acquire();
    q::Batch b;
    b.put_message(envelope(ids.next()), body);
    queue->commit(std::move(b), [&](q::Status s) {
      if (!s.ok()) failed++;
      slots.release();
    });
  }
  // Every commit acknowledged before the numbers count (outside the timed
  // loop: at most `inflight` commits, small beside the iteration count).
  for (std::ptrdiff_t i = 0; i < inflight; ++i) slots.acquire();
  if (failed) state.SkipWithError("commits failed");
  q::QueueStats st = queue->stats();
  state.counters["msgs_per_write"] =
      st.writes ? static_cast<double>(st.messages_put) / static_cast<double>(st.writes) : 0.0;
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_QueueCommit)
    ->ArgNames({"backend", "inflight"})  // backend: 0 memory, 1 rocksdb fsync, 2 rocksdb wal
    ->Args({kMemory, 1})
    ->Args({kFsync, 1})
    ->Args({kFsync, 256})
    ->Args({kWal, 1})
    ->Args({kWal, 256})
    ->UseRealTime();

}  // namespace
