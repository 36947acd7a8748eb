// tests/unit/mailbox/mailbox_child.cpp — the process crash_test.cpp kills.
// Started with fork+exec (a fresh RocksDB environment; forking a process
// whose RocksDB threads run would leave the child without them).
//
//   mailbox_child DIR SEED   opens the store at DIR, loads four users, and
//                            loops (at most 100,000 messages): a message for
//                            1-3 of them is queued (synced, as an acceptance),
//                            then delivered to their INBOXes (Wal mode) — either one
//                            batch for all (body once) or one batch per user
//                            (as separate owner shards would), each batch
//                            also marking the recipient Delivered (unsynced,
//                            as delivery outcomes are). About one recipient
//                            in five is left Pending. Prints "ready" once the
//                            first delivery is committed; never exits by itself
//                            before the parent's SIGKILL unless the loop ends.
#include <unistd.h>

#include <cstdio>
#include <future>
#include <random>
#include <string>
#include <vector>

#include "mailbox/store.h"
#include "mailbox/user_state.h"
#include "queue/queue.h"
#include "tests/unit/queue/queue_test_util.h"

using namespace ringmta;
using queue::testing::body_for;
using queue::testing::body_size_for;
using queue::testing::commit_sync;

namespace {

void say(const std::string& line) {
  std::string l = line + "\n";
  if (write(1, l.data(), l.size()) != static_cast<ssize_t>(l.size())) _exit(5);
}

[[noreturn]] void die(const std::string& what, const queue::Status& s) {
  fprintf(stderr, "mailbox_child: %s: %s\n", what.c_str(), s.message.c_str());
  _exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) return 64;
  const std::string dir = argv[1];
  const unsigned seed = static_cast<unsigned>(std::stoul(argv[2]));
  // Wal: a process kill loses nothing written; unsynced, the time is spent
  // evenly over acceptances and deliveries, so the kill lands anywhere.
  queue::RocksDbOptions opts{dir, queue::Durability::Wal};
  const mailbox::Families f = mailbox::register_families(opts.extra_families);
  std::unique_ptr<queue::Queue> q;
  if (queue::Status s = queue::open_rocksdb_queue(opts, q); !s.ok()) die("open", s);
  std::vector<std::string> users;
  std::vector<mailbox::UserState> states(4);
  for (int u = 0; u < 4; ++u) {
    users.push_back("user" + std::to_string(u) + "@example.org");
    if (queue::Status s = mailbox::load_user(*q, f, users[u], states[u]); !s.ok()) die("load", s);
  }
  std::mt19937 rng(seed);
  bool ready = false;
  for (int i = 0; i < 100000; ++i) {
    const std::string id = "S" + std::to_string(seed) + "-" + std::to_string(i);
    const std::string body = body_for(id, body_size_for(id));
    queue::Envelope env = queue::testing::sample_envelope(id, 1 + static_cast<int>(rng() % 3));
    std::vector<int> who;  // user index of each recipient
    const int first = static_cast<int>(rng() % 4);
    for (size_t r = 0; r < env.recipients.size(); ++r) {
      who.push_back((first + static_cast<int>(r)) % 4);
      env.recipients[r].address = users[who.back()];
    }
    queue::Batch accept;
    accept.put_message(env, body);
    if (queue::Status s = commit_sync(*q, std::move(accept)); !s.ok()) die("accept", s);

    const bool one_batch = rng() % 2 == 0;
    queue::Batch all;
    all.set_needs_sync(false);
    queue::Envelope stored = env, next = env;
    for (size_t r = 0; r < env.recipients.size(); ++r) {
      if (rng() % 5 == 0) continue;  // stays Pending
      queue::Batch part;
      part.set_needs_sync(false);
      if (!one_batch || all.empty()) mailbox::put_body(one_batch ? all : part, f, id, body, "structure of " + id);
      mailbox::NewMessage m;
      m.body_id = id;
      m.size = body.size();
      m.internal_date_ms = env.arrival_ms;
      uint32_t uid;
      if (queue::Status s = states[who[r]].append(part, "INBOX", m, env.arrival_ms, uid); !s.ok()) die("append", s);
      next.recipients[r].state = queue::RecipientState::Delivered;
      if (one_batch) {
        all.merge(std::move(part));
        continue;
      }
      part.update_envelope(stored, next);
      if (queue::Status s = commit_sync(*q, std::move(part)); !s.ok()) die("deliver", s);
      stored = next;
    }
    if (one_batch && !all.empty()) {
      all.update_envelope(stored, next);
      if (queue::Status s = commit_sync(*q, std::move(all)); !s.ok()) die("deliver all", s);
    }
    if (!ready) {
      say("ready");
      ready = true;
    }
  }
  q->flush();
  return 0;
}
