// tests/unit/queue/queue_test_util.h — shared helpers for the queue tests, the
// out-of-process helper (queue_child) and the throughput probe (queue_bench).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <future>
#include <string>

#include "queue/queue.h"

namespace ringmta::queue::testing {

// A fresh directory under $TMPDIR, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* tmp = getenv("TMPDIR");
    path_ = std::string(tmp && *tmp ? tmp : "/tmp") + "/ringmta-queue-test-XXXXXX";
    if (!mkdtemp(path_.data())) abort();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An envelope with every field set to something recognisable.
inline Envelope sample_envelope(const std::string& id, int recipients = 2, int64_t due_ms = 1000) {
  Envelope e;
  e.id = id;
  e.sender = "sender+" + id + "@example.org";
  e.envid = "envid-" + id;
  e.ret = Ret::Headers;
  e.body_type = BodyType::EightBitMime;
  e.smtputf8 = true;
  e.helo = "client.example.net";
  e.client_address = "127.0.0.7";
  e.auth_identity = "alice";
  e.arrival_ms = 1'700'000'000'123;
  e.size = 4242;
  e.flags = kFlagBounce;  // not kFlagHeld: a held message has no schedule entry
  for (int i = 0; i < recipients; ++i) {
    Recipient r;
    r.address = "rcpt" + std::to_string(i) + "@example.com";
    r.orcpt = "rfc822;rcpt" + std::to_string(i) + "@example.com";
    r.notify = kNotifyFailure | kNotifyDelay;
    r.state = RecipientState::Pending;
    r.attempts = static_cast<uint32_t>(i);
    r.next_attempt_ms = due_ms + i;
    r.last_attempt_ms = -5;
    r.last_reply = "451 4.7.1 try later";
    r.remote_mta = "mx.example.com[127.0.0.9]:25";
    r.delay_warned = i % 2 == 1;
    e.recipients.push_back(r);
  }
  return e;
}

// A body derived from the id, so a reader can check it is intact.
inline std::string body_for(const std::string& id, size_t size) {
  std::string b;
  b.reserve(size);
  uint32_t x = 2166136261u;
  for (char c : id) x = (x ^ static_cast<uint8_t>(c)) * 16777619u;
  while (b.size() < size) {
    x = x * 1103515245u + 12345u;
    b.push_back(static_cast<char>(x >> 24));
  }
  return b;
}

// The body size used for an id in the crash and reader tests: mixes inline
// bodies with ones large enough to go to blob files.
inline size_t body_size_for(const std::string& id) {
  return 100 + (std::hash<std::string>{}(id) % 20000);
}

// commit() and wait for done.
inline Status commit_sync(Queue& q, Batch batch) {
  std::promise<Status> p;
  auto f = p.get_future();
  q.commit(std::move(batch), [&p](Status s) { p.set_value(std::move(s)); });
  return f.get();
}

}  // namespace ringmta::queue::testing
