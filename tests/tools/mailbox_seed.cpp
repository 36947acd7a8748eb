// tests/tools/mailbox_seed.cpp — puts messages into users' INBOXes through
// the mail store's own API (mailbox/store.h, user_state.h), for the POP3
// integration tests and bench/pop3_compare.py until local delivery (SMTP ->
// mailbox) exists. Run it while the daemon is STOPPED: it opens the queue's
// RocksDB read-write, as the daemon would.
//
//   mailbox_seed DATA_DIR USER PATH...
// Each PATH is a message file (its bytes stored exactly, CRLF as given) or a
// directory whose regular files are messages, in name order. Prints the UIDs.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "mailbox/store.h"
#include "mailbox/user_state.h"
#include "queue/queue.h"
#include "queue/queue_id.h"

using namespace ringmta;

namespace {

bool read_file(const std::filesystem::path& p, std::string& out) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

queue::Status commit_and_wait(queue::Queue& q, queue::Batch batch) {
  std::promise<queue::Status> done;
  auto f = done.get_future();
  q.commit(std::move(batch), [&done](queue::Status st) { done.set_value(std::move(st)); });
  return f.get();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: mailbox_seed DATA_DIR USER PATH...\n";
    return 2;
  }
  const std::string user = argv[2];
  std::vector<std::filesystem::path> files;
  for (int i = 3; i < argc; ++i) {
    std::filesystem::path p = argv[i];
    if (std::filesystem::is_directory(p)) {
      std::vector<std::filesystem::path> in_dir;
      for (const auto& e : std::filesystem::directory_iterator(p))
        if (e.is_regular_file()) in_dir.push_back(e.path());
      std::sort(in_dir.begin(), in_dir.end());
      files.insert(files.end(), in_dir.begin(), in_dir.end());
    } else {
      files.push_back(p);
    }
  }

  queue::RocksDbOptions opts;
  opts.path = (std::filesystem::path(argv[1]) / "queue").string();
  const mailbox::Families families = mailbox::register_families(opts.extra_families);
  std::unique_ptr<queue::Queue> q;
  if (auto st = queue::open_rocksdb_queue(opts, q); !st.ok()) {
    std::cerr << "cannot open " << opts.path << ": " << st.message << "\n";
    return 1;
  }
  mailbox::UserState state(families, user);
  if (auto st = mailbox::load_user(*q, families, user, state); !st.ok()) {
    std::cerr << "cannot load " << user << ": " << st.message << "\n";
    return 1;
  }
  std::string newest;
  (void)q->last_id(newest);
  // Shard 4095: no daemon shard uses it, so the body ids never collide with queue ids.
  queue::QueueIdGenerator ids(4095, queue::queue_id_time_ms(newest).value_or(0));
  const int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

  constexpr size_t kPerBatch = 100;  // bounded batches for large seeds (bench)
  queue::Batch batch;
  size_t in_batch = 0;
  for (const auto& path : files) {
    std::string body;
    if (!read_file(path, body)) {
      std::cerr << "cannot read " << path << "\n";
      return 1;
    }
    mailbox::NewMessage m;
    m.body_id = ids.next();
    m.size = body.size();
    m.internal_date_ms = now_ms;
    mailbox::put_body(batch, families, m.body_id, std::move(body), std::string());
    uint32_t uid = 0;
    if (auto st = state.append(batch, mailbox::kInbox, m, now_ms, uid); !st.ok()) {
      std::cerr << "append " << path << ": " << st.message << "\n";
      return 1;
    }
    std::cout << uid << "\n";
    if (++in_batch == kPerBatch) {
      if (auto st = commit_and_wait(*q, std::move(batch)); !st.ok()) {
        std::cerr << "commit: " << st.message << "\n";
        return 1;
      }
      batch = queue::Batch();
      in_batch = 0;
    }
  }
  if (in_batch > 0)
    if (auto st = commit_and_wait(*q, std::move(batch)); !st.ok()) {
      std::cerr << "commit: " << st.message << "\n";
      return 1;
    }
  if (auto st = q->flush(); !st.ok()) {
    std::cerr << "flush: " << st.message << "\n";
    return 1;
  }
  return 0;
}
