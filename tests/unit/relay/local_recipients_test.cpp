// tests/unit/relay/local_recipients_test.cpp — who lives at the local domains
// (relay/local_directory.h: the users file and the aliases file, read from
// real files, re-read when they change) and the RCPT verdict
// (relay/local_recipients.h) with the quota board of a real mailbox::Service
// over a memory queue holding a user's mail.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "config/config.h"
#include "mailbox/service.h"
#include "mailbox/store.h"
#include "mailbox/user_state.h"
#include "relay/local_directory.h"
#include "relay/local_recipients.h"

namespace ringmta::relay {
namespace {

namespace fs = std::filesystem;

const char* kHash = "$6$salt$hash";

struct Files {
  fs::path dir;
  Files() {
    std::string t = (fs::temp_directory_path() / "ringmta-local-XXXXXX").string();
    if (!mkdtemp(t.data())) abort();
    dir = t;
  }
  ~Files() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
    return (dir / name).string();
  }
};

config::Config make_config(const Files& f, const std::string& users, const std::string& aliases) {
  config::Config c = *config::default_config();
  c.relay.local_domains = {"local.test", "second.test"};
  c.auth.users_file = f.write("users", users);
  c.relay.aliases_file = aliases.empty() ? "" : f.write("aliases", aliases);
  c.mailbox.enabled = true;
  c.mailbox.quota = 1000;
  return c;
}

std::string users_text() {
  return std::string("alice:") + kHash + "\n" + "Bob@Second.TEST:" + kHash + ":quota=0\n" + "tiny@local.test:" +
         kHash + ":quota=100\n" + "outsider@client.test:" + kHash + "\n";
}

TEST(LocalDirectory, UsersOfLocalDomainsWithQuotas) {
  Files f;
  LocalDirectory dir(make_config(f, users_text(), ""));
  ASSERT_EQ(dir.load(), "");
  auto s = dir.current();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->users, (std::set<std::string>{"alice@local.test", "bob@second.test", "tiny@local.test"}));
  EXPECT_EQ(dir.quota_of(*s, "alice@local.test"), 1000u);  // mailbox.quota
  EXPECT_EQ(dir.quota_of(*s, "bob@second.test"), 0u);      // quota=0: none
  EXPECT_EQ(dir.quota_of(*s, "tiny@local.test"), 100u);
  EXPECT_TRUE(s->aliases.entries.empty());
}

TEST(LocalDirectory, AnUnreadableFileStopsTheStart) {
  Files f;
  config::Config c = make_config(f, users_text(), "");
  c.relay.aliases_file = (f.dir / "missing").string();
  LocalDirectory dir(c);
  EXPECT_NE(dir.load().find("missing"), std::string::npos);
  EXPECT_FALSE(dir.current());
}

TEST(LocalDirectory, ReReadWhenAFileChanges) {
  Files f;
  LocalDirectory dir(make_config(f, users_text(), "team: alice\n"));
  ASSERT_EQ(dir.load(), "");
  dir.start();
  auto first = dir.current();
  EXPECT_EQ(first->aliases.entries.size(), 1u);
  f.write("aliases", "team: alice\nsales: tiny, bob@second.test\n# more\n");
  std::shared_ptr<const LocalSnapshot> now;
  for (int i = 0; i < 100; ++i) {  // the watcher looks once a second
    now = dir.current();
    if (now != first) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_NE(now, first) << "not re-read within 10 s";
  EXPECT_EQ(now->aliases.entries.size(), 2u);
  // A file that disappears keeps what was read before.
  fs::remove(f.dir / "aliases");
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(dir.current()->aliases.entries.size(), 2u);
}

struct Board {
  std::vector<queue::ExtraFamily> extras;
  mailbox::Families f = mailbox::register_families(extras);
  std::unique_ptr<queue::Queue> q = queue::make_memory_queue(extras);
  std::unique_ptr<mailbox::Service> svc;
  // `user` holds one message of `bytes`.
  Board(const std::string& user, uint64_t bytes) {
    mailbox::UserState st(f, user);
    queue::Batch b;
    mailbox::put_body(b, f, "B1", std::string(bytes, 'x'), "");
    mailbox::NewMessage m;
    m.body_id = "B1";
    m.size = bytes;
    uint32_t uid = 0;
    EXPECT_TRUE(st.append(b, mailbox::kInbox, m, 1000, uid).ok());
    q->commit(std::move(b), [](queue::Status s) { EXPECT_TRUE(s.ok()); });
    svc = std::make_unique<mailbox::Service>(*q, f, std::vector<engine::Reactor*>{});
    EXPECT_TRUE(svc->start().ok());
  }
};

TEST(LocalRecipients, Verdicts) {
  Files f;
  LocalDirectory dir(make_config(f, users_text(),
                                 "postmaster: alice\nteam: alice, Bob@second.test, friend@out.example\n"
                                 "loop: loop2\nloop2: loop\n"));
  ASSERT_EQ(dir.load(), "");
  Board board("tiny@local.test", 90);  // quota 100
  const mailbox::Service* svc = board.svc.get();
  auto v = check_local_recipient(dir, svc, "alice+x@LOCAL.test", 0);
  EXPECT_EQ(v.reply, "");
  EXPECT_EQ(v.addresses, std::vector<std::string>{"alice@local.test"});
  v = check_local_recipient(dir, svc, "team@local.test", 0);
  EXPECT_EQ(v.addresses, (std::vector<std::string>{"alice@local.test", "bob@second.test", "friend@out.example"}));
  v = check_local_recipient(dir, svc, "someone@out.example", 0);  // not ours: unchanged
  EXPECT_EQ(v.reply, "");
  EXPECT_TRUE(v.addresses.empty());
  EXPECT_EQ(check_local_recipient(dir, svc, "nobody@local.test", 0).reply.substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(check_local_recipient(dir, svc, "outsider@local.test", 0).reply.substr(0, 10), "550 5.1.1 ");
  EXPECT_EQ(check_local_recipient(dir, svc, "loop@local.test", 0).reply.substr(0, 10), "550 5.1.1 ");
  // tiny holds 90 of 100 bytes: without SIZE under quota, SIZE=10 fits, SIZE=11 not.
  EXPECT_EQ(check_local_recipient(dir, svc, "tiny@local.test", 0).reply, "");
  EXPECT_EQ(check_local_recipient(dir, svc, "tiny@local.test", 10).reply, "");
  EXPECT_EQ(check_local_recipient(dir, svc, "tiny@local.test", 11).reply, "452 4.2.2 <tiny@local.test>: Mailbox full");
  // bob has quota=0: never full.
  EXPECT_EQ(check_local_recipient(dir, svc, "bob@second.test", uint64_t{1} << 40).reply, "");
}

TEST(LocalRecipients, AtQuotaWithoutSizeIsFull) {
  Files f;
  LocalDirectory dir(make_config(f, users_text(), ""));
  ASSERT_EQ(dir.load(), "");
  Board board("tiny@local.test", 100);
  EXPECT_EQ(check_local_recipient(dir, board.svc.get(), "tiny@local.test", 0).reply.substr(0, 10), "452 4.2.2 ");
}

}  // namespace
}  // namespace ringmta::relay
