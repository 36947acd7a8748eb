// tests/unit/mailbox/service_test.cpp — the mail store at run time
// (mailbox/service.h) on real engine reactors (a ShardGroup) and a real
// RocksDB in a temporary directory: owner shards, the quota board read at
// start and updated by committed changes only, per-user serialisation (the
// next change starts only after the previous one finished), a failed change
// dropping the loaded state, a load failure, stale tickets, reader threads,
// the POP3 lock, and the local-delivery pattern (ops built on the users'
// shards, merged into one batch committed by another shard).
//
// The test thread waits for shard work with futures, each bounded.
#include "mailbox/service.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <set>
#include <thread>

#include "engine/shard_group.h"
#include "mailbox/codec.h"
#include "mailbox_test_util.h"

namespace ringmta::mailbox {
namespace {

using testing::kNow;
using testing::new_message;
using testing::open_store;
using testing::TempDir;

constexpr auto kWait = std::chrono::seconds(20);

template <typename T>
T get(std::future<T>& f) {
  if (f.wait_for(kWait) != std::future_status::ready) {
    ADD_FAILURE() << "shard work did not finish";
    return T{};
  }
  return f.get();
}

// Runs fn on shard `i`'s thread and waits for its value.
template <typename T>
T on_shard(engine::ShardGroup& g, unsigned i, std::function<T()> fn) {
  std::promise<T> p;
  auto f = p.get_future();
  g.shard(i).post([&p, &fn] { p.set_value(fn()); });
  return get(f);
}

struct Fixture {
  TempDir dir;
  Families f;
  std::unique_ptr<queue::Queue> q;
  engine::ShardGroup group;
  std::unique_ptr<Service> svc;

  explicit Fixture(unsigned shards, bool start = true) : group(shards) {
    q = open_store(dir.path(), f);
    if (start) this->start();
  }
  void start() {
    std::vector<engine::Reactor*> rs;
    for (unsigned i = 0; i < group.size(); ++i) rs.push_back(&group.shard(i));
    svc = std::make_unique<Service>(*q, f, rs);
    ASSERT_TRUE(svc->start().ok());
    ASSERT_EQ(group.start([](engine::Reactor&) { return 0; }), 0);
  }
  ~Fixture() {
    group.stop_and_join();
    svc.reset();
  }

  // One append to `user`'s INBOX as a change committed by the Service; the
  // UID and the commit status.
  std::pair<uint32_t, bool> append(const std::string& user, const std::string& body_id, size_t size) {
    std::promise<std::pair<uint32_t, bool>> p;
    auto fut = p.get_future();
    const unsigned owner = svc->owner_of(user);
    group.shard(owner).post([this, &p, user, body_id, size] {
      svc->change(user, [this, &p, body_id, size](UserState* st, Service::Ticket t) {
        if (!st) {
          svc->finish(t, false);
          p.set_value({0, false});
          return;
        }
        queue::Batch b;
        put_body(b, f, body_id, std::string(size, 'x'), "");
        uint32_t uid = 0;
        EXPECT_TRUE(st->append(b, kInbox, new_message(body_id, size), kNow, uid).ok());
        svc->commit(t, std::move(b), [&p, uid](queue::Status s) { p.set_value({uid, s.ok()}); });
      });
    });
    return get(fut);
  }
};

UserState reload(queue::Queue& q, const Families& f, const std::string& user) {
  return testing::load_or_fail(q, f, user);
}

TEST(MailboxService, OwnerIsStableAndSpread) {
  Fixture one(1);
  EXPECT_EQ(one.svc->owner_of("alice@example.org"), 0u);
  Fixture four(4);
  std::set<unsigned> seen;
  for (int i = 0; i < 64; ++i) {
    const std::string u = "user" + std::to_string(i) + "@example.org";
    const unsigned o = four.svc->owner_of(u);
    EXPECT_LT(o, 4u);
    EXPECT_EQ(o, four.svc->owner_of(u));
    seen.insert(o);
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(MailboxService, StartReadsTheBoardFromTheStore) {
  Fixture fx(2, false);
  {
    UserState st(fx.f, "bob@example.org");
    queue::Batch b;
    put_body(b, fx.f, "B1", std::string(300, 'b'), "");
    uint32_t uid = 0;
    ASSERT_TRUE(st.append(b, kInbox, new_message("B1", 300), kNow, uid).ok());
    ASSERT_TRUE(testing::commit_sync(*fx.q, std::move(b)).ok());
  }
  fx.start();
  EXPECT_EQ(fx.svc->totals("bob@example.org"), (Totals{1, 300}));
  EXPECT_EQ(fx.svc->totals("nobody@example.org"), (Totals{}));
}

TEST(MailboxService, ChangesLoadCommitAndUpdateTheBoard) {
  Fixture fx(3);
  const std::string user = "alice@example.org";
  auto [uid1, ok1] = fx.append(user, "Q1", 100);
  auto [uid2, ok2] = fx.append(user, "Q2", 50);
  EXPECT_TRUE(ok1 && ok2);
  EXPECT_EQ(uid1, 1u);
  EXPECT_EQ(uid2, 2u);
  EXPECT_EQ(fx.svc->totals(user), (Totals{2, 150}));
  UserState st = reload(*fx.q, fx.f, user);
  ASSERT_NE(st.find("INBOX"), nullptr);
  EXPECT_EQ(st.find("INBOX")->messages.size(), 2u);
  EXPECT_EQ(st.totals(), (Totals{2, 150}));
}

TEST(MailboxService, ChangesOfOneUserRunOneAtATimeInOrder) {
  Fixture fx(4);
  const std::string user = "carol@example.org";
  const unsigned owner = fx.svc->owner_of(user);
  constexpr int kChanges = 40;
  std::atomic<bool> running{false};
  std::atomic<int> overlaps{0};
  std::vector<int> order;  // owner thread only
  std::promise<void> all;
  auto all_done = all.get_future();
  std::atomic<int> finished{0};
  // Queued from every shard: each posts to the owner, as other shards'
  // sessions do. Each change appends and commits; the next must not start
  // before the previous commit has finished.
  for (int i = 0; i < kChanges; ++i) {
    const unsigned from = static_cast<unsigned>(i) % fx.group.size();
    fx.group.shard(from).post([&, i, owner] {
      fx.group.shard(owner).post([&, i] {
        fx.svc->change(user, [&, i](UserState* st, Service::Ticket t) {
          if (running.exchange(true)) overlaps++;
          order.push_back(i);
          ASSERT_NE(st, nullptr);
          queue::Batch b;
          const std::string id = "S" + std::to_string(i);
          put_body(b, fx.f, id, "body", "");
          uint32_t uid = 0;
          EXPECT_TRUE(st->append(b, kInbox, new_message(id, 4), kNow, uid).ok());
          EXPECT_EQ(uid, order.size());  // UIDs in the order the changes ran
          fx.svc->commit(t, std::move(b), [&](queue::Status s) {
            EXPECT_TRUE(s.ok());
            running = false;
            if (++finished == kChanges) all.set_value();
          });
        });
      });
    });
  }
  ASSERT_EQ(all_done.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(overlaps.load(), 0);
  EXPECT_EQ(fx.svc->totals(user), (Totals{kChanges, 4 * kChanges}));
  UserState st = reload(*fx.q, fx.f, user);
  EXPECT_EQ(st.find("INBOX")->messages.size(), static_cast<size_t>(kChanges));
  EXPECT_EQ(st.find("INBOX")->uidnext, static_cast<uint32_t>(kChanges + 1));
}

TEST(MailboxService, AFailedChangeDropsTheStateAndTheNextReloads) {
  Fixture fx(2);
  const std::string user = "dave@example.org";
  ASSERT_TRUE(fx.append(user, "D1", 10).second);
  const unsigned owner = fx.svc->owner_of(user);
  // A change whose ops never reach the disk: finish(false).
  std::promise<uint32_t> p;
  auto f = p.get_future();
  fx.group.shard(owner).post([&] {
    fx.svc->change(user, [&](UserState* st, Service::Ticket t) {
      queue::Batch thrown_away;
      uint32_t uid = 0;
      EXPECT_TRUE(st->append(thrown_away, kInbox, new_message("D2", 20), kNow, uid).ok());
      fx.svc->finish(t, false);
      p.set_value(uid);
    });
  });
  EXPECT_EQ(get(f), 2u);
  EXPECT_EQ(fx.svc->totals(user), (Totals{1, 10}));  // the board saw no commit
  // The next change sees the disk, not the dropped memory: one message, UID 2 again free.
  auto [uid, ok] = fx.append(user, "D3", 30);
  EXPECT_TRUE(ok);
  EXPECT_EQ(uid, 2u);
  UserState st = reload(*fx.q, fx.f, user);
  ASSERT_EQ(st.find("INBOX")->messages.size(), 2u);
  EXPECT_EQ(st.find("INBOX")->messages[1].body_id, "D3");
  EXPECT_EQ(fx.svc->totals(user), (Totals{2, 40}));
}

TEST(MailboxService, ALoadFailureGivesNoStateAndDoesNotBlockTheUser) {
  Fixture fx(2);
  const std::string user = "erin@example.org";
  // A damaged account record: load_user fails.
  queue::Batch bad;
  bad.put_extra(fx.f.meta, codec::account_key(user), "garbage");
  ASSERT_TRUE(testing::commit_sync(*fx.q, std::move(bad)).ok());
  for (int round = 0; round < 2; ++round) {
    auto [uid, ok] = fx.append(user, "E" + std::to_string(round), 5);
    EXPECT_FALSE(ok);  // fn got null and finished(false); the next is not stuck behind it
    EXPECT_EQ(uid, 0u);
  }
  // Other users on the same shard are not affected.
  EXPECT_TRUE(fx.append("frank@example.org", "F1", 5).second);
}

TEST(MailboxService, AStaleTicketIsIgnored) {
  Fixture fx(1);
  const std::string user = "gina@example.org";
  std::promise<bool> p;
  auto f = p.get_future();
  fx.group.shard(0).post([&] {
    fx.svc->change(user, [&](UserState*, Service::Ticket t) {
      Service::Ticket stale = t;
      stale.serial += 7;
      fx.svc->finish(stale, false);  // not this change's: ignored, still busy
      auto second_ran = std::make_shared<bool>(false);
      fx.svc->change(user, [&, second_ran](UserState* st, Service::Ticket t2) {
        *second_ran = true;
        EXPECT_NE(st, nullptr);  // the stale finish(false) did not drop the state
        fx.svc->finish(t2, true);
        p.set_value(true);
      });
      EXPECT_FALSE(*second_ran);
      fx.svc->finish(t, true);
    });
  });
  EXPECT_TRUE(get(f));
}

TEST(MailboxService, ReadsRunOnReaderThreadsAndAnswerOnTheShard) {
  Fixture fx(2);
  ASSERT_TRUE(fx.append("hank@example.org", "H1", 7).second);
  std::promise<std::pair<bool, std::string>> p;
  auto f = p.get_future();
  fx.group.shard(1).post([&] {
    const auto shard_thread = std::this_thread::get_id();
    fx.svc->read<std::pair<std::thread::id, std::string>>(
        fx.group.shard(1),
        [&]() {
          std::string body;
          EXPECT_TRUE(read_body(*fx.q, fx.f, "H1", body).ok());
          return std::make_pair(std::this_thread::get_id(), body);
        },
        [&, shard_thread](std::pair<std::thread::id, std::string> r) {
          const bool off_shard = r.first != shard_thread;
          const bool back_on_shard = std::this_thread::get_id() == shard_thread;
          p.set_value({off_shard && back_on_shard, r.second});
        });
  });
  auto [threads_ok, body] = get(f);
  EXPECT_TRUE(threads_ok);
  EXPECT_EQ(body, std::string(7, 'x'));
}

TEST(MailboxService, TheMaildropLockIsExclusive) {
  Fixture fx(2);
  const std::string user = "ivan@example.org";
  const unsigned owner = fx.svc->owner_of(user);
  std::vector<bool> got = on_shard<std::vector<bool>>(fx.group, owner, [&] {
    std::vector<bool> r;
    r.push_back(fx.svc->lock(user, 11));  // first holder
    r.push_back(fx.svc->lock(user, 22));  // [IN-USE]
    r.push_back(fx.svc->lock(user, 11));  // the holder again
    fx.svc->unlock(user, 22);             // not the holder: no effect
    r.push_back(fx.svc->lock(user, 22));
    fx.svc->unlock(user, 11);
    r.push_back(fx.svc->lock(user, 22));  // free now
    fx.svc->unlock(user, 22);
    return r;
  });
  EXPECT_EQ(got, (std::vector<bool>{true, false, true, false, true}));
  // A locked user still gets deliveries (the lock is POP3's, not the store's).
  on_shard<bool>(fx.group, owner, [&] { return fx.svc->lock(user, 33); });
  EXPECT_TRUE(fx.append(user, "I1", 3).second);
  EXPECT_FALSE(on_shard<bool>(fx.group, owner, [&] { return fx.svc->lock(user, 44); }));
}

// Local delivery's pattern: each user's owner builds ops (unsynced batch) and
// hands them to the message owner, which merges them with put_body once and
// commits; then each user's change is finished on its owner.
TEST(MailboxService, OpsOfSeveralUsersInOneBatch) {
  Fixture fx(4);
  std::vector<std::string> users;
  for (int i = 0; users.size() < 3 && i < 100; ++i) {
    std::string u = "u" + std::to_string(i) + "@example.org";
    bool fresh = true;
    for (const auto& o : users) fresh &= fx.svc->owner_of(o) != fx.svc->owner_of(u);
    if (fresh) users.push_back(u);
  }
  ASSERT_EQ(users.size(), 3u);
  const unsigned message_owner = 0;
  struct Part {
    std::string user;
    Service::Ticket ticket;
    queue::Batch batch;
  };
  std::promise<std::vector<Part>> parts_p;
  auto parts_f = parts_p.get_future();
  auto parts = std::make_shared<std::vector<Part>>();
  for (const auto& u : users) {
    fx.group.shard(fx.svc->owner_of(u)).post([&, u, parts] {
      fx.svc->change(u, [&, u, parts](UserState* st, Service::Ticket t) {
        queue::Batch b;
        b.set_needs_sync(false);
        uint32_t uid = 0;
        EXPECT_TRUE(st->append(b, kInbox, new_message("MSG1", 11), kNow, uid).ok());
        fx.group.shard(message_owner).post([&, u, t, parts, b = std::move(b)]() mutable {
          parts->push_back(Part{u, t, std::move(b)});
          if (parts->size() == 3) parts_p.set_value(std::move(*parts));
        });
      });
    });
  }
  std::vector<Part> got = get(parts_f);
  ASSERT_EQ(got.size(), 3u);
  queue::Batch all;
  all.set_needs_sync(false);
  put_body(all, fx.f, "MSG1", "hello world", "");
  for (Part& p : got) all.merge(std::move(p.batch));
  EXPECT_FALSE(all.needs_sync());
  ASSERT_TRUE(testing::commit_sync(*fx.q, std::move(all)).ok());
  std::promise<void> done;
  auto done_f = done.get_future();
  auto left = std::make_shared<std::atomic<int>>(3);
  for (const Part& p : got)
    fx.group.shard(fx.svc->owner_of(p.user)).post([&, t = p.ticket, left] {
      fx.svc->finish(t, true);
      if (--*left == 0) done.set_value();
    });
  ASSERT_EQ(done_f.wait_for(kWait), std::future_status::ready);
  for (const auto& u : users) {
    EXPECT_EQ(fx.svc->totals(u), (Totals{1, 11})) << u;
    UserState st = reload(*fx.q, fx.f, u);
    ASSERT_NE(st.find("INBOX"), nullptr);
    EXPECT_EQ(st.find("INBOX")->messages.at(0).body_id, "MSG1");
  }
  std::string body;
  ASSERT_TRUE(read_body(*fx.q, fx.f, "MSG1", body).ok());
  EXPECT_EQ(body, "hello world");
  // One body key for three users.
  EXPECT_EQ(testing::count_prefix(testing::keys_of(*fx.q, fx.f.bodies), codec::body_key("MSG1")[0]), 1u);
}

}  // namespace
}  // namespace ringmta::mailbox
