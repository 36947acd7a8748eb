// tests/unit/proto/pop3/backpressure_test.cpp — bounded memory: the output never
// holds much more than output_limit (LIST/UIDL in slices, RETR through
// fetch_chunk reads that stop while the output is full), pipelined commands
// wait in the input buffer, and wants_input() tells the host when to stop
// reading.
#include <gtest/gtest.h>

#include <string>

#include "proto/pop3/server_session.h"

using namespace ringmta::pop3;

namespace {

std::unique_ptr<ServerSession> logged_in(const ServerConfig& cfg, std::vector<MessageInfo> list) {
  ClientInfo c;
  c.allow_plaintext_auth = true;
  auto s = std::make_unique<ServerSession>(std::make_shared<ServerConfig>(cfg), c);
  s->start();
  EXPECT_EQ(s->feed("USER u\r\nPASS p\r\n"), Action::AuthCheck);
  EXPECT_EQ(s->auth_done(AuthResult::Ok), Action::LoadMaildrop);
  EXPECT_EQ(s->maildrop_loaded(std::move(list)), Action::NeedInput);
  s->take_output();
  return s;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(Pop3Backpressure, ListOfAHugeMaildropComesInSlices) {
  ServerConfig cfg;
  cfg.output_limit = 1024;
  std::vector<MessageInfo> list;
  for (int i = 0; i < 20000; ++i) list.push_back({static_cast<uint64_t>(1000 + i), "uid" + std::to_string(i)});
  auto s = logged_in(cfg, list);
  for (const char* cmd : {"LIST\r\n", "UIDL\r\n"}) {
    EXPECT_EQ(s->feed(cmd), Action::NeedInput);
    std::string all;
    int rounds = 0;
    for (; rounds < 100000; ++rounds) {
      std::string out = s->take_output();
      EXPECT_LT(out.size(), 1024u + 64) << "one slice at a time";
      all += out;
      if (s->phase() != Phase::OutputFull) break;
      EXPECT_FALSE(s->wants_input());
      EXPECT_EQ(s->resume(), Action::NeedInput);
    }
    EXPECT_GT(rounds, 100);
    EXPECT_EQ(count(all, "\r\n"), 20002u);  // +OK, 20000 lines, "."
    EXPECT_EQ(all.substr(all.size() - 3), ".\r\n");
    EXPECT_EQ(s->phase(), Phase::Command);
  }
}

TEST(Pop3Backpressure, RetrOfALargeMessageNeverHoldsMuch) {
  ServerConfig cfg;
  cfg.output_limit = 8192;
  cfg.fetch_chunk = 4096;
  std::string msg = "Subject: big\r\n\r\n";
  for (int i = 0; msg.size() < (1u << 20); ++i) msg += (i % 3 == 0 ? "." : "") + std::string(i % 150, 'x') + "\r\n";
  auto s = logged_in(cfg, {{msg.size(), "big"}});
  Action a = s->feed("RETR 1\r\nNOOP\r\n");
  std::string wire;
  uint64_t expect_offset = 0;
  for (int guard = 0; guard < 1000000 && a != Action::Close; ++guard) {
    if (a == Action::Fetch) {
      const FetchRequest f = s->fetch_request();
      ASSERT_EQ(f.offset, expect_offset) << "reads are contiguous";
      ASSERT_LE(f.max_bytes, 4096u);
      const std::string_view part = std::string_view(msg).substr(f.offset, f.max_bytes);
      expect_offset += part.size();
      a = s->message_data(part, expect_offset == msg.size());
      continue;
    }
    std::string out = s->take_output();
    ASSERT_LE(out.size(), 8192u + 2 * 4096u + 64) << "output bounded";
    wire += out;
    if (s->phase() == Phase::Command) break;
    a = s->resume();
  }
  EXPECT_EQ(expect_offset, msg.size());
  // Unstuff and compare, then the pipelined NOOP's answer.
  ASSERT_EQ(wire.rfind("+OK " + std::to_string(msg.size()) + " octets\r\n", 0), 0u);
  ASSERT_GE(wire.size(), 8u);
  std::string body = wire.substr(wire.find("\r\n") + 2);
  body = body.substr(0, body.size() - std::string(".\r\n+OK\r\n").size());
  std::string decoded;
  for (size_t pos = 0; pos < body.size();) {
    size_t e = body.find("\r\n", pos);
    ASSERT_NE(e, std::string::npos);
    std::string line = body.substr(pos, e - pos);
    if (!line.empty() && line[0] == '.') line.erase(0, 1);
    decoded += line + "\r\n";
    pos = e + 2;
  }
  EXPECT_EQ(decoded, msg);
  EXPECT_EQ(wire.substr(wire.size() - 8), ".\r\n+OK\r\n");
}

TEST(Pop3Backpressure, PipelinedCommandsStopAtTheOutputLimit) {
  ServerConfig cfg;
  cfg.output_limit = 1024;
  auto s = logged_in(cfg, {{1, "a"}});
  std::string flood;
  for (int i = 0; i < 1000; ++i) flood += "NOOP\r\n";
  EXPECT_EQ(s->feed(flood), Action::NeedInput);
  EXPECT_FALSE(s->wants_input()) << "output full";
  std::string out = s->take_output();
  EXPECT_GE(out.size(), 1024u);
  EXPECT_LT(out.size(), 1024u + 16);
  size_t total = count(out, "+OK\r\n");
  EXPECT_EQ(s->buffered_input(), (1000 - total) * 6);
  for (int round = 0; round < 1000 && s->buffered_input() > 0; ++round) {
    EXPECT_EQ(s->resume(), Action::NeedInput);
    std::string more = s->take_output();
    EXPECT_LT(more.size(), 1024u + 16);
    total += count(more, "+OK\r\n");
  }
  EXPECT_EQ(total, 1000u);
  EXPECT_TRUE(s->wants_input());
}

TEST(Pop3Backpressure, WantsInputStopsAtTheInputLimitWhileTheHostWorks) {
  ServerConfig cfg;
  cfg.input_limit = 100;
  ClientInfo c;
  c.allow_plaintext_auth = true;
  ServerSession s(std::make_shared<ServerConfig>(cfg), c);
  s.start();
  EXPECT_TRUE(s.wants_input());
  EXPECT_EQ(s.feed("USER u\r\nPASS p\r\n"), Action::AuthCheck);
  EXPECT_FALSE(s.wants_input()) << "waiting for the host";
  std::string more;
  for (int i = 0; i < 30; ++i) more += "STAT\r\n";
  s.feed(more);
  EXPECT_EQ(s.buffered_input(), more.size());
  EXPECT_EQ(s.auth_done(AuthResult::Ok), Action::LoadMaildrop);
  EXPECT_EQ(s.maildrop_loaded({}), Action::NeedInput);
  EXPECT_EQ(s.buffered_input(), 0u);
  EXPECT_EQ(count(s.take_output(), "+OK 0 0\r\n"), 30u);
  EXPECT_TRUE(s.wants_input());
  // A partial line near the limit: the host stops reading.
  s.feed(std::string(99, 'N'));
  EXPECT_TRUE(s.wants_input());
  s.feed("O");
  EXPECT_FALSE(s.wants_input());
}

}  // namespace
