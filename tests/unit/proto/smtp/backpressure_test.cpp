// tests/unit/proto/smtp/backpressure_test.cpp — ServerConfig::output_limit: a
// client that pipelines commands without reading the replies gets no more
// than about output_limit of them at a time; the rest of its input waits
// (buffered, bounded by what the glue lets in) and runs on resume().
#include <gtest/gtest.h>

#include <string>

#include "proto/smtp/server_session.h"
#include "tests/unit/proto/smtp/golden_harness.h"

using namespace ringmta::smtp;
using namespace ringmta::smtp::testing;

namespace {

std::unique_ptr<ServerSession> session(size_t output_limit) {
  GoldenConfig cfg = golden_config("");
  auto server = std::make_shared<ServerConfig>(*cfg.server);
  server->output_limit = output_limit;
  server->max_message_size = 1 << 20;
  Hooks h;
  h.new_queue_id = [] { return std::string("Q1"); };
  h.now_unix = [] { return kFixedNow; };
  auto s = std::make_unique<ServerSession>(server, cfg.client, h);
  s->start();
  s->take_output();
  return s;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(Backpressure, PipelinedCommandsStopAtTheOutputLimit) {
  auto s = session(1024);
  std::string flood;
  for (int i = 0; i < 1000; ++i) flood += "NOOP\r\n";
  EXPECT_EQ(s->feed(flood), Action::NeedInput);
  // More input while blocked is only buffered (the glue has stopped reading
  // long before this could grow).
  EXPECT_EQ(s->feed("NOOP\r\n"), Action::NeedInput);
  std::string out = s->take_output();
  // Stops at the first command after 1024 bytes of replies are waiting.
  EXPECT_GE(out.size(), 1024u);
  EXPECT_LT(out.size(), 1024u + 64);
  const size_t first = count(out, "250 2.0.0 Ok\r\n");
  EXPECT_EQ(first * 14, out.size());
  EXPECT_EQ(s->buffered_input(), (1001 - first) * 6);
  // Each resume() after the output was taken runs the next slice.
  size_t total = first;
  for (int round = 0; round < 200 && s->buffered_input() > 0; ++round) {
    EXPECT_EQ(s->resume(), Action::NeedInput);
    std::string more = s->take_output();
    EXPECT_LT(more.size(), 1024u + 64);
    total += count(more, "250 2.0.0 Ok\r\n");
  }
  EXPECT_EQ(total, 1001u);
  EXPECT_EQ(s->buffered_input(), 0u);
}

TEST(Backpressure, BodiesAreNotHeldBack) {
  auto s = session(64);
  std::string body(100000, 'x');
  std::string in = "EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\n";
  // The EHLO reply alone is over 64 bytes: MAIL waits for resume().
  EXPECT_EQ(s->feed(in), Action::NeedInput);
  EXPECT_GT(s->buffered_input(), 0u);
  s->take_output();
  for (int i = 0; i < 10 && s->phase() != Phase::Data; ++i) {
    s->resume();
    s->take_output();
  }
  ASSERT_EQ(s->phase(), Phase::Data);
  // A body produces no replies: it streams whatever the limit.
  for (size_t off = 0; off < body.size(); off += 7000) {
    EXPECT_EQ(s->feed(std::string_view(body).substr(off, 7000)), Action::NeedInput);
    EXPECT_FALSE(s->has_output());
  }
  EXPECT_EQ(s->feed("\r\n.\r\n"), Action::Commit);
  EXPECT_EQ(s->buffered_input(), 0u);
}

TEST(Backpressure, ResumeWhileAwaitingCommitDoesNothing) {
  auto s = session(1 << 20);
  EXPECT_EQ(s->feed("EHLO c\r\nMAIL FROM:<a@c.example>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nhi\r\n.\r\nNOOP\r\n"),
            Action::Commit);
  s->take_output();
  EXPECT_EQ(s->resume(), Action::NeedInput);
  EXPECT_FALSE(s->has_output());
  EXPECT_EQ(s->buffered_input(), 6u);
  EXPECT_EQ(s->commit_done(true), Action::NeedInput);
  EXPECT_EQ(s->take_output(), "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n");
}

}  // namespace
