// tests/unit/queue/queue_bench.cpp — throughput probe for the RocksDB queue's
// group commit (not a test: it prints, it does not assert).
//
//   queue_bench fsync|wal [messages=50000] [body_bytes=4096] [threads=2] [inflight=256] [dir]
//
// Each thread plays a shard: it submits single-message batches without
// waiting, with at most `inflight` of its own batches unacknowledged (the
// open SMTP sessions waiting for their 250). Prints messages/s and how many
// messages one WAL write / fsync covered.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "queue/queue.h"
#include "queue/queue_id.h"
#include "queue_test_util.h"

using namespace ringmta::queue;

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: queue_bench fsync|wal [messages] [body_bytes] [threads] [inflight] [dir]\n");
    return 64;
  }
  Durability d = std::string(argv[1]) == "wal" ? Durability::Wal : Durability::Fsync;
  int messages = argc > 2 ? atoi(argv[2]) : 50000;
  size_t body_bytes = argc > 3 ? static_cast<size_t>(atol(argv[3])) : 4096;
  int threads = argc > 4 ? atoi(argv[4]) : 2;
  int inflight = argc > 5 ? atoi(argv[5]) : 256;
  testing::TempDir tmp;
  std::string dir = argc > 6 ? argv[6] : tmp.sub("db");

  std::unique_ptr<Queue> q;
  if (Status s = open_rocksdb_queue({dir, d}, q); !s.ok()) {
    fprintf(stderr, "open: %s\n", s.message.c_str());
    return 1;
  }
  std::string body = testing::body_for("bench", body_bytes);
  std::atomic<int> failed{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      QueueIdGenerator ids(t);
      std::counting_semaphore<> slots(inflight);
      for (int i = t; i < messages; i += threads) {
        slots.acquire();
        Batch b;
        b.put_message(testing::sample_envelope(ids.next(), 1), body);
        q->commit(std::move(b), [&](Status s) {
          if (!s.ok()) failed++;
          slots.release();
        });
      }
      for (int i = 0; i < inflight; ++i) slots.acquire();  // all of ours acknowledged
    });
  }
  for (auto& w : workers) w.join();
  q->flush();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  QueueStats st = q->stats();
  printf("%s: %d msgs x %zu B, %d threads, inflight %d/thread: %.0f msgs/s (%.2f s), writes %llu, syncs %llu, "
         "msgs/write %.1f, failed %d\n",
         d == Durability::Fsync ? "fsync" : "wal", messages, body_bytes, threads, inflight, messages / secs, secs,
         static_cast<unsigned long long>(st.writes), static_cast<unsigned long long>(st.syncs),
         st.writes ? double(st.messages_put) / double(st.writes) : 0.0, failed.load());
  return failed ? 1 : 0;
}
