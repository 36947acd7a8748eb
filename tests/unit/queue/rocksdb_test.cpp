// tests/unit/queue/rocksdb_test.cpp — what only the RocksDB queue has:
// durability across reopen and SIGKILL, read-only access from another
// process, storage errors, draining on close. The other process is the
// queue_child helper (QUEUE_CHILD_PATH), started with fork+exec.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <sstream>

#include "queue/codec.h"
#include "queue/queue.h"
#include "queue/rocksdb_layout.h"
#include "queue/rocksdb_queue.h"
#include "queue_test_util.h"

namespace ringmta::queue {
namespace {

using testing::body_for;
using testing::body_size_for;
using testing::commit_sync;
using testing::sample_envelope;

// A queue_child process with a pipe to its stdin and one from its stdout.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]), close(in[1]), close(out[0]), close(out[1]);
      std::vector<char*> argv;
      static std::string path = QUEUE_CHILD_PATH;
      argv.push_back(path.data());
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(path.c_str(), argv.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      wait();
    }
    if (stdin_ >= 0) close(stdin_);
    close(stdout_);
  }
  // One line of output, or false at EOF.
  bool read_line(std::string& line) {
    line.clear();
    char c;
    for (;;) {
      ssize_t n = read(stdout_, &c, 1);
      if (n <= 0) return !line.empty();
      if (c == '\n') return true;
      line.push_back(c);
    }
  }
  void close_stdin() {
    close(stdin_);
    stdin_ = -1;
  }
  void kill_now() { kill(pid_, SIGKILL); }
  // Reaps the child; returns its wait status.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int stdin_ = -1, stdout_ = -1;
};

std::unique_ptr<Queue> open_queue(const std::string& path, Durability d = Durability::Fsync) {
  std::unique_ptr<Queue> q;
  Status s = open_rocksdb_queue({path, d}, q);
  EXPECT_TRUE(s.ok()) << s.message;
  return q;
}

TEST(RocksDbQueue, DataSurvivesReopen) {
  testing::TempDir dir;
  {
    auto q = open_queue(dir.path());
    Batch b;
    for (int i = 0; i < 100; ++i) {
      std::string id = "R" + std::to_string(1000 + i);
      b.put_message(sample_envelope(id, 2, i), body_for(id, body_size_for(id)));
    }
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  auto q = open_queue(dir.path(), Durability::Wal);
  int n = 0;
  ASSERT_TRUE(q->scan([&](const Envelope& e) {
                 std::string body;
                 EXPECT_TRUE(q->read_body(e.id, body).ok());
                 EXPECT_EQ(body, body_for(e.id, body_size_for(e.id)));
                 EXPECT_EQ(e.recipients.size(), 2u);
                 return ++n > 0;
               }).ok());
  EXPECT_EQ(n, 100);
  std::vector<std::string> ids;
  ASSERT_TRUE(q->due(1'000'000, 3, ids).ok());
  EXPECT_EQ(ids, (std::vector<std::string>{"R1000", "R1001", "R1002"}));
}

TEST(RocksDbQueue, CloseDrainsPendingCommits) {
  testing::TempDir dir;
  std::atomic<int> ok{0}, calls{0};
  {
    auto q = open_queue(dir.path(), Durability::Wal);
    for (int i = 0; i < 300; ++i) {
      Batch b;
      b.put_message(sample_envelope("D" + std::to_string(i)), "x");
      q->commit(std::move(b), [&](Status s) {
        calls++;
        ok += s.ok();
      });
    }
  }  // destructor: every done runs, then the DB closes
  EXPECT_EQ(calls.load(), 300);
  EXPECT_EQ(ok.load(), 300);
  auto q = open_queue(dir.path());
  Envelope e;
  EXPECT_TRUE(q->read_envelope("D299", e).ok());
}

// SIGKILL at a random point: every batch the child saw done(Ok) for is there,
// whole (both messages, intact bodies). Several rounds on one database also
// exercise recovery of a recovered database.
TEST(RocksDbQueue, AcknowledgedDataSurvivesSigkill) {
  testing::TempDir dir;
  std::vector<std::string> acked;
  for (unsigned seed = 1; seed <= 4; ++seed) {
    Child child({"crash", dir.path(), "200", std::to_string(seed * 7919)});
    std::string line;
    int lines = 0;
    while (child.read_line(line)) {
      std::istringstream in(line);
      std::string a, b;
      in >> a >> b;
      ASSERT_FALSE(b.empty()) << "torn line: " << line;
      acked.push_back(a);
      acked.push_back(b);
      ++lines;
    }
    int status = child.wait();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child status " << status;
    EXPECT_GT(lines, 0);
  }
  auto q = open_queue(dir.path());
  for (const std::string& id : acked) {
    Envelope e;
    ASSERT_TRUE(q->read_envelope(id, e).ok()) << id << " was acknowledged but is gone";
    std::string body;
    ASSERT_TRUE(q->read_body(id, body).ok()) << id;
    EXPECT_EQ(body, body_for(id, body_size_for(id))) << id;
  }
  // Batches are atomic: no message whose twin is missing.
  ASSERT_TRUE(q->scan([&](const Envelope& e) {
                 std::string twin = e.id;
                 twin.back() = twin.back() == 'a' ? 'b' : 'a';
                 Envelope t;
                 EXPECT_TRUE(q->read_envelope(twin, t).ok()) << e.id << " without " << twin;
                 return true;
               }).ok());
}

TEST(RocksDbQueue, ReadOnlySeesLiveWritersUnflushedData) {
  testing::TempDir dir;
  Child writer({"writer", dir.path(), "50"});
  std::string line;
  ASSERT_TRUE(writer.read_line(line));
  ASSERT_EQ(line, "ready");

  auto check = [&](const char* when) {
    std::unique_ptr<Queue> ro;
    Status s = open_rocksdb_queue_readonly(dir.path(), ro);
    ASSERT_TRUE(s.ok()) << when << ": " << s.message;
    int n = 0;
    ASSERT_TRUE(ro->scan([&](const Envelope& e) {
                    std::string body;
                    EXPECT_TRUE(ro->read_body(e.id, body).ok());
                    EXPECT_EQ(body, body_for(e.id, body_size_for(e.id)));
                    return ++n > 0;
                  }).ok());
    EXPECT_EQ(n, 50) << when;
    std::vector<std::string> ids;
    ASSERT_TRUE(ro->due(INT64_MAX, 1000, ids).ok());
    EXPECT_EQ(ids.size(), 50u) << when;
    Batch b;
    b.put_message(sample_envelope("NOPE"), "");
    EXPECT_EQ(commit_sync(*ro, std::move(b)).code, Status::Code::InvalidArgument);
  };
  check("while the writer runs");
  // The writer dies without flushing: the data exists only in its WAL.
  writer.kill_now();
  writer.wait();
  check("after the writer was killed");
  // And the read-write open still works after read-only opens.
  auto q = open_queue(dir.path());
  Envelope e;
  EXPECT_TRUE(q->read_envelope("W100049", e).ok());
}

TEST(RocksDbQueue, ReadOnlyOpenOfMissingDatabaseIsNotFound) {
  testing::TempDir dir;
  std::unique_ptr<Queue> ro;
  EXPECT_EQ(open_rocksdb_queue_readonly(dir.sub("none"), ro).code, Status::Code::NotFound);
}

TEST(RocksDbQueue, FullDiskFailsThroughDoneAndRecovers) {
  testing::TempDir dir;
  Child child({"nospace", dir.path()});
  std::map<std::string, std::string> result;
  std::string line;
  while (child.read_line(line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos) result[line.substr(0, eq)] = line.substr(eq + 1);
  }
  int status = child.wait();
  ASSERT_TRUE(WIFEXITED(status)) << status;
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot unshare(CLONE_NEWNS)+mount tmpfs here (needs CAP_SYS_ADMIN)";
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(result["before"], "Ok");
  const std::string& full = result["full"];
  EXPECT_TRUE(full.starts_with("NoSpace") || full.starts_with("IoError")) << full;
  EXPECT_TRUE(result["after"].starts_with("Ok")) << result["after"];
  EXPECT_EQ(result["read_big"], "NotFound") << "a failed write must not be readable";
  EXPECT_EQ(result["read_before"], "Ok");
  EXPECT_EQ(result["read_after"], "Ok intact");
}

TEST(RocksDbQueue, StorageErrorsMapToQueueCodes) {
  using C = Status::Code;
  EXPECT_EQ(from_rocksdb(rocksdb::Status::OK()).code, C::Ok);
  EXPECT_EQ(from_rocksdb(rocksdb::Status::NoSpace("write")).code, C::NoSpace);
  EXPECT_EQ(from_rocksdb(rocksdb::Status::IOError("While appending", "No space left on device")).code, C::NoSpace);
  EXPECT_EQ(from_rocksdb(rocksdb::Status::IOError("While fsync", "Input/output error")).code, C::IoError);
  EXPECT_EQ(from_rocksdb(rocksdb::Status::Corruption("bad block")).code, C::Corruption);
  EXPECT_EQ(from_rocksdb(rocksdb::Status::NotFound()).code, C::NotFound);
}

// A damaged record is reported, and does not hide the rest of the queue.
TEST(RocksDbQueue, CorruptRecordsAreReportedNotFatal) {
  testing::TempDir dir;
  {
    auto q = open_queue(dir.path());
    Batch b;
    for (const char* id : {"A", "B", "C", "D"}) b.put_message(sample_envelope(id, 2), id);
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  {
    // Damage B's envelope and one of D's recipient records behind the queue's back.
    rocksdb::DB* raw = nullptr;
    std::vector<rocksdb::ColumnFamilyHandle*> cfs;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir.path(), queue_column_families(), &cfs, &raw).ok());
    ASSERT_TRUE(raw->Put(rocksdb::WriteOptions(), cfs[kMessagesIdx], codec::envelope_key("B"), "\x09junk").ok());
    ASSERT_TRUE(raw->Delete(rocksdb::WriteOptions(), cfs[kRecipientsIdx], codec::recipient_key("D", 1)).ok());
    for (auto* h : cfs) raw->DestroyColumnFamilyHandle(h);
    delete raw;
  }
  auto q = open_queue(dir.path());
  std::vector<std::string> seen;
  Status s = q->scan([&](const Envelope& e) {
    seen.push_back(e.id);
    return true;
  });
  EXPECT_EQ(s.code, Status::Code::Corruption);
  EXPECT_NE(s.message.find("B"), std::string::npos) << s.message;
  EXPECT_EQ(seen, (std::vector<std::string>{"A", "C"}));
  Envelope e;
  EXPECT_EQ(q->read_envelope("B", e).code, Status::Code::Corruption);
  EXPECT_EQ(q->read_envelope("D", e).code, Status::Code::Corruption);
  EXPECT_TRUE(q->read_envelope("C", e).ok());
}

}  // namespace
}  // namespace ringmta::queue
