// tests/unit/mailbox/crash_test.cpp — exactly-once local delivery across
// kill -9: mailbox_child delivers in a loop and is SIGKILLed at a random
// moment (twice per database, so the second run starts from a crashed
// store); then every recipient marked Delivered has its message in its
// INBOX exactly once, every Pending one has none, every stored message
// belongs to a Delivered recipient, bodies are intact, UIDs unique, and the
// stored totals agree with the messages.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <thread>

#include "mailbox_test_util.h"

namespace ringmta::mailbox {
namespace {

using testing::open_store;
using testing::TempDir;

// The child with its stdout on a pipe; SIGKILLed and reaped by its own PID.
class Child {
 public:
  Child(const std::string& dir, unsigned seed) {
    int out[2];
    if (pipe(out) != 0) abort();
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::string path = MAILBOX_CHILD_PATH, d = dir, s = std::to_string(seed);
      char* argv[] = {path.data(), d.data(), s.data(), nullptr};
      execv(path.c_str(), argv);
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
  }
  ~Child() {
    kill_now();
    close(out_);
  }
  // Waits for the "ready" line; false if the child ended first.
  bool wait_ready() {
    std::string line;
    char c;
    while (read(out_, &c, 1) == 1) {
      if (c == '\n') return line == "ready";
      line.push_back(c);
    }
    return false;
  }
  // SIGKILL; true if that is what ended it (not an exit of its own).
  bool kill_now() {
    if (pid_ <= 0) return false;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
};

void check_exactly_once(const std::string& dir, size_t& delivered_total) {
  Families f;
  auto q = open_store(dir, f);
  ASSERT_TRUE(q);
  // (user, queue id) -> messages holding that body in the user's INBOX.
  std::map<std::pair<std::string, std::string>, int> stored;
  for (int u = 0; u < 4; ++u) {
    const std::string user = "user" + std::to_string(u) + "@example.org";
    UserState st;
    ASSERT_TRUE(load_user(*q, f, user, st).ok()) << user;
    Totals on_disk;
    ASSERT_TRUE(read_totals(*q, f, user, on_disk).ok());
    EXPECT_EQ(on_disk, st.totals()) << user << ": account record and messages disagree";
    const Mailbox* inbox = st.find("INBOX");
    if (!inbox) continue;
    uint32_t last_uid = 0;
    for (const Message& m : inbox->messages) {
      EXPECT_GT(m.uid, last_uid) << user;
      EXPECT_LT(m.uid, inbox->uidnext) << user;
      last_uid = m.uid;
      stored[{user, m.body_id}]++;
      std::string body;
      ASSERT_TRUE(read_body(*q, f, m.body_id, body).ok()) << m.body_id << " of " << user;
      EXPECT_EQ(body, queue::testing::body_for(m.body_id, queue::testing::body_size_for(m.body_id)));
      EXPECT_EQ(body.size(), m.size);
    }
  }
  size_t checked = 0;
  ASSERT_TRUE(q->scan([&](const queue::Envelope& env) {
                 for (const queue::Recipient& r : env.recipients) {
                   auto it = stored.find({r.address, env.id});
                   int n = it == stored.end() ? 0 : it->second;
                   if (r.state == queue::RecipientState::Delivered) {
                     EXPECT_EQ(n, 1) << env.id << " to " << r.address << " is Delivered";
                     delivered_total++;
                   } else {
                     EXPECT_EQ(n, 0) << env.id << " to " << r.address << " is Pending";
                   }
                   if (it != stored.end()) stored.erase(it);
                 }
                 checked++;
                 return true;
               }).ok());
  EXPECT_GT(checked, 0u);
  // Anything left is a mailbox message without a Delivered recipient.
  for (const auto& [key, n] : stored) ADD_FAILURE() << key.second << " in " << key.first << " has no recipient";
}

TEST(MailStoreCrash, DeliveredExactlyOnceAfterSigkill) {
  std::mt19937 rng(20261207);
  size_t delivered = 0;
  for (int round = 0; round < 3; ++round) {
    TempDir dir;
    for (int run = 0; run < 2; ++run) {
      Child child(dir.path(), static_cast<unsigned>(round * 10 + run + 1));
      ASSERT_TRUE(child.wait_ready()) << "child ended before its first delivery";
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 400));
      ASSERT_TRUE(child.kill_now()) << "child exited on its own";
    }
    check_exactly_once(dir.path(), delivered);
  }
  EXPECT_GT(delivered, 0u);
  RecordProperty("delivered_checked", static_cast<int>(delivered));
}

}  // namespace
}  // namespace ringmta::mailbox
