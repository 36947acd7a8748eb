// tests/unit/queue/extra_test.cpp — extra column families (queue.h): generic
// put/delete ops of another module in the same atomic batch as queue ops, on
// both Queue implementations, and opening an older database without them.
#include <gtest/gtest.h>

#include <map>

#include "queue/queue.h"
#include "queue_test_util.h"

namespace ringmta::queue {
namespace {

using testing::commit_sync;
using testing::sample_envelope;

std::vector<ExtraFamily> two_families() {
  ExtraFamily small{"test_small"};
  ExtraFamily large{"test_large"};
  large.blob_files = true;
  large.min_blob_size = 1024;
  return {small, large};
}

std::map<std::string, std::string> scan_all(Queue& q, uint32_t family, std::string_view begin = "",
                                            std::string_view end = "") {
  std::map<std::string, std::string> out;
  Status s = q.scan_extra(family, begin, end, [&](std::string_view k, std::string_view v) {
    out.emplace(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.message;
  return out;
}

// The same checks against any Queue opened with two_families().
void check_extra_ops(Queue& q) {
  std::string big(5000, 'x');
  Batch b;
  b.put_message(sample_envelope("EXTRA1"), "body");
  b.put_extra(0, "k1", "v1");
  b.put_extra(0, "k2", "v2");
  b.put_extra(0, "k3", "v3");
  b.put_extra(1, "k1", big);  // same key, other family: independent
  ASSERT_TRUE(commit_sync(q, std::move(b)).ok());

  std::string v;
  ASSERT_TRUE(q.get_extra(0, "k2", v).ok());
  EXPECT_EQ(v, "v2");
  ASSERT_TRUE(q.get_extra(1, "k1", v).ok());
  EXPECT_EQ(v, big);
  EXPECT_EQ(q.get_extra(1, "k2", v).code, Status::Code::NotFound);
  EXPECT_EQ(scan_all(q, 0, "k2").size(), 2u);                         // [k2, end)
  EXPECT_EQ(scan_all(q, 0, "k1", "k3"), (std::map<std::string, std::string>{{"k1", "v1"}, {"k2", "v2"}}));
  size_t visited = 0;
  ASSERT_TRUE(q.scan_extra(0, "", "", [&](std::string_view, std::string_view) { return ++visited < 2; }).ok());
  EXPECT_EQ(visited, 2u);  // stopped early

  // A batch with an op on an unknown family fails whole: its queue op is not applied.
  Batch bad;
  bad.put_message(sample_envelope("EXTRA2"), "body");
  bad.put_extra(0, "k9", "v9");
  bad.put_extra(2, "k", "v");
  EXPECT_EQ(commit_sync(q, std::move(bad)).code, Status::Code::InvalidArgument);
  Envelope env;
  EXPECT_EQ(q.read_envelope("EXTRA2", env).code, Status::Code::NotFound);
  EXPECT_EQ(q.get_extra(0, "k9", v).code, Status::Code::NotFound);
  Batch empty_key;
  empty_key.put_extra(0, "", "v");
  EXPECT_EQ(commit_sync(q, std::move(empty_key)).code, Status::Code::InvalidArgument);
  EXPECT_EQ(q.get_extra(7, "k1", v).code, Status::Code::InvalidArgument);

  // Delete and a queue update in one batch; merge() joins batches built apart.
  ASSERT_TRUE(q.read_envelope("EXTRA1", env).ok());
  Envelope updated = env;
  updated.recipients[0].state = RecipientState::Delivered;
  Batch part1, part2;
  part1.update_envelope(env, updated);
  part2.delete_extra(0, "k1");
  part2.put_extra(0, "k4", "v4");
  part1.merge(std::move(part2));
  EXPECT_EQ(part1.size(), 3u);
  ASSERT_TRUE(commit_sync(q, std::move(part1)).ok());
  ASSERT_TRUE(q.read_envelope("EXTRA1", env).ok());
  EXPECT_EQ(env.recipients[0].state, RecipientState::Delivered);
  EXPECT_EQ(scan_all(q, 0), (std::map<std::string, std::string>{{"k2", "v2"}, {"k3", "v3"}, {"k4", "v4"}}));
}

TEST(ExtraFamilies, MemoryQueue) {
  auto q = make_memory_queue(two_families());
  check_extra_ops(*q);
}

TEST(ExtraFamilies, RocksDbQueueAndReopen) {
  testing::TempDir dir;
  RocksDbOptions opts{dir.path()};
  opts.extra_families = two_families();
  {
    std::unique_ptr<Queue> q;
    ASSERT_TRUE(open_rocksdb_queue(opts, q).ok());
    check_extra_ops(*q);
  }
  std::unique_ptr<Queue> q;
  ASSERT_TRUE(open_rocksdb_queue(opts, q).ok());
  EXPECT_EQ(scan_all(*q, 0).size(), 3u);
  std::string v;
  ASSERT_TRUE(q->get_extra(1, "k1", v).ok());
  EXPECT_EQ(v.size(), 5000u);
  // A read-only (secondary) instance sees them too.
  std::unique_ptr<Queue> ro;
  ASSERT_TRUE(open_rocksdb_queue_readonly(dir.path(), ro, two_families()).ok());
  EXPECT_EQ(scan_all(*ro, 0).size(), 3u);
}

TEST(ExtraFamilies, OlderDatabaseWithoutThemOpensAndGainsThem) {
  testing::TempDir dir;
  {
    std::unique_ptr<Queue> q;
    ASSERT_TRUE(open_rocksdb_queue(RocksDbOptions{dir.path()}, q).ok());
    Batch b;
    b.put_message(sample_envelope("OLD1"), "old body");
    ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  }
  {
    // Read-only before the families exist: opens, the extras are unknown.
    std::unique_ptr<Queue> ro;
    ASSERT_TRUE(open_rocksdb_queue_readonly(dir.path(), ro, two_families()).ok());
    std::string v;
    EXPECT_EQ(ro->get_extra(0, "k", v).code, Status::Code::InvalidArgument);
  }
  RocksDbOptions opts{dir.path()};
  opts.extra_families = two_families();
  std::unique_ptr<Queue> q;
  ASSERT_TRUE(open_rocksdb_queue(opts, q).ok());
  Envelope env;
  EXPECT_TRUE(q->read_envelope("OLD1", env).ok());
  Batch b;
  b.put_extra(1, "new", "value");
  ASSERT_TRUE(commit_sync(*q, std::move(b)).ok());
  std::string v;
  ASSERT_TRUE(q->get_extra(1, "new", v).ok());
  EXPECT_EQ(v, "value");
  // Opening again WITHOUT registering them still works (the queue alone).
  q.reset();
  ASSERT_TRUE(open_rocksdb_queue(RocksDbOptions{dir.path()}, q).ok());
  EXPECT_TRUE(q->read_envelope("OLD1", env).ok());
}

TEST(ExtraFamilies, NamesMustBeUnique) {
  testing::TempDir dir;
  RocksDbOptions opts{dir.path()};
  opts.extra_families = {ExtraFamily{"messages"}};
  std::unique_ptr<Queue> q;
  EXPECT_EQ(open_rocksdb_queue(opts, q).code, Status::Code::InvalidArgument);
  opts.extra_families = {ExtraFamily{"a"}, ExtraFamily{"a"}};
  EXPECT_EQ(open_rocksdb_queue(opts, q).code, Status::Code::InvalidArgument);
}

}  // namespace
}  // namespace ringmta::queue
