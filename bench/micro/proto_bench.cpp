// bench/micro/proto_bench.cpp — micro-benchmarks of the pure SMTP code in
// proto/smtp: command-line parsing, the DATA decoder (bytes/s) and a whole
// pipelined server-session transaction (EHLO once, then MAIL/RCPT/DATA/body
// in one write per message, as a PIPELINING client sends them).
//
// These are the per-message CPU costs of the inbound side without any I/O, so
// a regression here shows up before it is lost in loopback noise.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "proto/smtp/command.h"
#include "proto/smtp/data_decoder.h"
#include "proto/smtp/server_session.h"

namespace smtp = ringmta::smtp;

namespace {

// A 4 KiB-ish message body in wire form: 76-column text lines, a few lines
// starting with "." (dot-stuffed), ending with the CRLF.CRLF marker.
std::string wire_body(size_t size) {
  std::string b =
      "From: bench <bench@client.example>\r\nTo: <rcpt@example.com>\r\n"
      "Subject: micro benchmark\r\nMessage-ID: <1@client.example>\r\n\r\n";
  size_t line = 0;
  while (b.size() < size) {
    if (line % 25 == 24) b += "..a dot-stuffed line\r\n";
    b.append(74, static_cast<char>('a' + line % 26));
    b += "\r\n";
    ++line;
  }
  b += ".\r\n";
  return b;
}

void BM_ParseCommandLine(benchmark::State& state) {
  const std::vector<std::string> lines = {
      "EHLO client.example.net", "MAIL FROM:<sender@example.org> SIZE=4096 BODY=8BITMIME",
      "RCPT TO:<rcpt@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;rcpt@example.com",
      "DATA", "rset", "QUIT", "NOOP", "BDAT 4096 LAST"};
  size_t i = 0;
  for (auto _ : state) {
    auto c = smtp::parse_command_line(lines[i]);
    benchmark::DoNotOptimize(c);
    i = (i + 1) % lines.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseCommandLine);

// MAIL FROM: the line split, the path prefix and every ESMTP parameter.
void BM_ParseMailCommand(benchmark::State& state) {
  const std::string line =
      "MAIL FROM:<sender@example.org> SIZE=4096 BODY=8BITMIME RET=HDRS ENVID=QQ314159";
  for (auto _ : state) {
    auto c = smtp::parse_command_line(line);
    auto path = smtp::strip_path_prefix(c.arg, "FROM:");
    std::string_view rest = path->substr(path->find('>') + 1);
    smtp::MailParams p;
    std::string err = smtp::parse_mail_params(rest, true, 50u << 20, p);
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      break;
    }
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseMailCommand);

void BM_ParseRcptCommand(benchmark::State& state) {
  const std::string line = "RCPT TO:<rcpt@example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;rcpt@example.com";
  for (auto _ : state) {
    auto c = smtp::parse_command_line(line);
    auto path = smtp::strip_path_prefix(c.arg, "TO:");
    std::string_view rest = path->substr(path->find('>') + 1);
    smtp::Recipient r;
    std::string err = smtp::parse_rcpt_params(rest, true, r);
    if (!err.empty()) {
      state.SkipWithError(err.c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRcptCommand);

// DATA decoding in segments of range(1) bytes (what one recv delivers).
void BM_DataDecoder(benchmark::State& state) {
  const std::string body = wire_body(static_cast<size_t>(state.range(0)));
  const size_t segment = static_cast<size_t>(state.range(1));
  smtp::DataDecoder d;
  std::string out;
  out.reserve(body.size());
  for (auto _ : state) {
    d.reset(64u << 20);
    out.clear();
    std::string_view in = body;
    bool done = false;
    while (!in.empty() && !done) {
      auto r = d.feed(in.substr(0, segment), out);
      in.remove_prefix(r.consumed);
      done = r.done;
    }
    if (!done) state.SkipWithError("decoder did not see the end marker");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_DataDecoder)->Args({4096, 65536})->Args({4096, 512})->Args({1 << 20, 65536});

// One message per iteration through a session that stays open (EHLO done
// once), the client's whole pipelined group in one feed(), commit acknowledged
// at once — the state machine's cost per accepted message.
void BM_ServerSessionTransaction(benchmark::State& state) {
  auto config = std::make_shared<smtp::ServerConfig>();
  config->hostname = "mx.bench.test";
  smtp::ClientInfo client;
  client.address = "127.0.0.1";
  client.trusted = true;
  smtp::Hooks hooks;
  uint64_t n = 0;
  hooks.new_queue_id = [&n] { return "06H34RF2FG01" + std::to_string(n++ % 10000); };
  hooks.now_unix = [] { return int64_t{1'700'000'000}; };
  smtp::ServerSession s(config, client, hooks);
  s.start();
  s.feed("EHLO client.example\r\n");
  s.take_output();
  const std::string group =
      "MAIL FROM:<sender@client.example> SIZE=4096\r\nRCPT TO:<rcpt@example.com>\r\nDATA\r\n" +
      wire_body(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    smtp::Action a = s.feed(group);
    if (a != smtp::Action::Commit) {
      state.SkipWithError("expected Commit");
      break;
    }
    benchmark::DoNotOptimize(s.transaction().message.size());
    a = s.commit_done(true);
    std::string out = s.take_output();
    if (a != smtp::Action::NeedInput || out.find("250 2.0.0") == std::string::npos) {
      state.SkipWithError("expected 250 after commit");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * group.size()));
}
BENCHMARK(BM_ServerSessionTransaction)->Arg(4096)->Arg(64 << 10);

}  // namespace
