// tests/unit/queue/queue_child.cpp — the other process in the queue's
// process-level tests (rocksdb_test.cpp starts it with fork+exec, so it gets a
// fresh RocksDB environment; forking a process that already runs RocksDB
// threads would leave the child with a dead thread pool).
//
//   queue_child crash DIR N SEED   Fsync queue; two threads submit N batches of
//                                  two messages; prints "ID1 ID2" per batch once
//                                  its done(Ok) arrives; SIGKILLs itself from
//                                  inside the done of a SEED-chosen batch.
//   queue_child writer DIR N       commits N messages (Wal mode: WAL only, no
//                                  memtable flush), prints "ready", waits on stdin.
//   queue_child nospace DIR        in a private mount namespace, mounts a 96 MiB
//                                  tmpfs on DIR and fills it; prints what the
//                                  queue reports; exits 77 if it may not mount.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <semaphore>
#include <string>
#include <thread>

#include "queue/queue.h"
#include "queue_test_util.h"

using namespace ringmta::queue;
using ringmta::queue::testing::body_for;
using ringmta::queue::testing::body_size_for;
using ringmta::queue::testing::commit_sync;
using ringmta::queue::testing::sample_envelope;

namespace {

void say(const std::string& line) {
  std::string l = line + "\n";
  // Straight to the pipe: nothing may sit in a stdio buffer when we SIGKILL.
  if (write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(5);
}

const char* code_name(Status::Code c) {
  switch (c) {
    case Status::Code::Ok: return "Ok";
    case Status::Code::NotFound: return "NotFound";
    case Status::Code::NoSpace: return "NoSpace";
    case Status::Code::IoError: return "IoError";
    case Status::Code::Corruption: return "Corruption";
    case Status::Code::InvalidArgument: return "InvalidArgument";
    case Status::Code::ShuttingDown: return "ShuttingDown";
  }
  return "?";
}

std::unique_ptr<Queue> open_or_die(const std::string& dir, Durability d) {
  std::unique_ptr<Queue> q;
  Status s = open_rocksdb_queue({dir, d}, q);
  if (!s.ok()) {
    fprintf(stderr, "open %s: %s\n", dir.c_str(), s.message.c_str());
    _exit(2);
  }
  return q;
}

int crash(const std::string& dir, int n, unsigned seed) {
  auto q = open_or_die(dir, Durability::Fsync);
  std::mt19937 rng(seed);
  const int kill_at = 1 + static_cast<int>(rng() % static_cast<unsigned>(n - n / 4));
  std::atomic<int> acked{0};
  // At most 16 batches in flight, like a shard's open sessions: the kill then
  // lands among many group commits, not inside one huge first round.
  std::counting_semaphore<16> slots(16);
  auto submit = [&](int thread) {
    for (int i = thread; i < n; i += 2) {
      slots.acquire();
      std::string a = "S" + std::to_string(seed) + "-" + std::to_string(i) + "a";
      std::string b = "S" + std::to_string(seed) + "-" + std::to_string(i) + "b";
      Batch batch;
      batch.put_message(sample_envelope(a, 1), body_for(a, body_size_for(a)));
      batch.put_message(sample_envelope(b, 2), body_for(b, body_size_for(b)));
      q->commit(std::move(batch), [&, a, b](Status s) {
        slots.release();
        if (!s.ok()) return;
        say(a + " " + b);
        if (++acked == kill_at) kill(getpid(), SIGKILL);
      });
    }
  };
  std::thread t1(submit, 0), t2(submit, 1);
  t1.join();
  t2.join();
  q->flush();
  return 3;  // not reached: the kill comes first
}

int writer(const std::string& dir, int n) {
  auto q = open_or_die(dir, Durability::Wal);
  for (int i = 0; i < n; ++i) {
    std::string id = "W" + std::to_string(100000 + i);
    Batch b;
    b.put_message(sample_envelope(id, 1), body_for(id, body_size_for(id)));
    Status s = commit_sync(*q, std::move(b));
    if (!s.ok()) return 4;
  }
  say("ready");
  char c;
  while (read(0, &c, 1) > 0) {
  }
  return 0;
}

int nospace(const std::string& dir) {
  // A private mount namespace: the tmpfs disappears with this process.
  if (unshare(CLONE_NEWNS) != 0) return 77;
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return 77;
  if (mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=96m") != 0) return 77;

  // Sizes follow from the production options: the WAL is preallocated
  // (fallocate) at 1.1 x the largest write buffer (~35 MiB), so only a write
  // larger than that hits ENOSPC; and RocksDB resumes only once one write
  // buffer (32 MiB) is free again. Hence 96 MiB and a 40 MiB body.
  auto q = open_or_die(dir + "/db", Durability::Fsync);
  Batch small;
  small.put_message(sample_envelope("BEFORE"), "small");
  say(std::string("before=") + code_name(commit_sync(*q, std::move(small)).code));

  // Fill the file system.
  std::string filler = dir + "/filler";
  int fd = open(filler.c_str(), O_CREAT | O_WRONLY, 0600);
  std::string chunk(64 << 10, 'f');
  while (write(fd, chunk.data(), chunk.size()) > 0) {
  }
  close(fd);

  Batch big;
  big.put_message(sample_envelope("BIG"), body_for("BIG", 40 << 20));
  Status s = commit_sync(*q, std::move(big));
  say(std::string("full=") + code_name(s.code) + " " + s.message);

  unlink(filler.c_str());
  // RocksDB recovers from ENOSPC on its own once ~one write buffer (32 MiB)
  // is free; it polls every 5 s. Bounded: 15 s.
  Status after;
  for (int i = 0; i < 150; ++i) {
    Batch again;
    again.put_message(sample_envelope("AFTER"), body_for("AFTER", 100000));
    after = commit_sync(*q, std::move(again));
    if (after.ok()) break;
    usleep(100000);
  }
  say(std::string("after=") + code_name(after.code) + " " + after.message);
  Envelope e;
  say(std::string("read_big=") + code_name(q->read_envelope("BIG", e).code));
  say(std::string("read_before=") + code_name(q->read_envelope("BEFORE", e).code));
  std::string body;
  Status rb = q->read_body("AFTER", body);
  say(std::string("read_after=") + code_name(rb.code) + (body == body_for("AFTER", 100000) ? " intact" : " damaged"));
  q.reset();
  umount2(dir.c_str(), MNT_DETACH);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "crash" && argc == 5) return crash(argv[2], atoi(argv[3]), static_cast<unsigned>(atoi(argv[4])));
  if (mode == "writer" && argc == 4) return writer(argv[2], atoi(argv[3]));
  if (mode == "nospace" && argc == 3) return nospace(argv[2]);
  fprintf(stderr, "usage: queue_child crash DIR N SEED | writer DIR N | nospace DIR\n");
  return 64;
}
