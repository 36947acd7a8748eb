// bench/micro/mail_dns_bench.cpp — micro-benchmarks of DSN composition
// (mail/dsn.h: the multipart/report a bounce is) and of the pure parts of MX
// resolution (dns/wire.h): reading a raw MX answer and the RFC 5321 §5.1
// ordering with the equal-preference shuffle. The network half of the
// resolver (c-ares on the reactor) is left to the load tests.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "dns/wire.h"
#include "mail/dsn.h"

namespace wire = ringmta::dns::wire;
namespace mail = ringmta::mail;

namespace {

// A stored message of about `size` bytes: a realistic header block and text.
std::string original_message(size_t size) {
  std::string m =
      "Received: from client.example (client.example [127.0.0.1])\r\n"
      "\tby mx.bench.test (ringmta) with ESMTP id 06H34RF2FG010000\r\n"
      "\tfor <rcpt@example.com>; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "From: Sender <sender@client.example>\r\nTo: <rcpt@example.com>\r\n"
      "Subject: quarterly report\r\nDate: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
      "Message-ID: <abc.123@client.example>\r\nMIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=utf-8\r\n\r\n";
  while (m.size() < size) m += "The quick brown fox jumps over the lazy dog, again and again.\r\n";
  return m;
}

// One failed recipient (or range(1) of them) with a multi-line remote reply;
// RET=FULL when range(2) is set.
void BM_ComposeDsn(benchmark::State& state) {
  const std::string original = original_message(static_cast<size_t>(state.range(0)));
  mail::DsnRequest req;
  req.reporting_mta = "mx.bench.test";
  req.envid = "QQ314159";
  req.sender = "sender@client.example";
  req.arrival_date = "Tue, 14 Nov 2023 22:13:20 +0000";
  req.ret = state.range(2) ? mail::DsnRet::Full : mail::DsnRet::Headers;
  req.original_message = original;
  req.message_id = "<06H34RF2FG010001.dsn@mx.bench.test>";
  req.date = "Wed, 15 Nov 2023 22:13:20 +0000";
  req.boundary = "06H34RF2FG010001/mx.bench.test";
  for (int64_t i = 0; i < state.range(1); ++i) {
    mail::DsnRecipient r;
    r.final_recipient = "rcpt" + std::to_string(i) + "@example.com";
    r.original_recipient = "rfc822;rcpt" + std::to_string(i) + "@example.com";
    r.status = "5.1.1";
    r.remote_mta = "mx1.example.com";
    r.remote_address = "192.0.2.7";
    r.diagnostic = "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
                   "550 5.1.1 Please try double-checking the recipient's email address.";
    r.in_reply_to = "RCPT TO";
    r.last_attempt_date = "Wed, 15 Nov 2023 22:13:19 +0000";
    req.recipients.push_back(std::move(r));
  }
  size_t bytes = 0;
  for (auto _ : state) {
    mail::DsnResult r = mail::compose_dsn(req);
    if (!r.ok) {
      state.SkipWithError(r.error.c_str());
      break;
    }
    bytes += r.message.size();
    benchmark::DoNotOptimize(r.message.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ComposeDsn)
    ->ArgNames({"size", "rcpts", "full"})
    ->Args({4096, 1, 0})
    ->Args({4096, 10, 0})
    ->Args({64 << 10, 1, 1});

// RFC 5321 §5.1 ordering of range(0) MX records in three preference levels.
void BM_OrderMx(benchmark::State& state) {
  std::vector<wire::MxRecord> input;
  for (int64_t i = 0; i < state.range(0); ++i)
    input.push_back({static_cast<uint16_t>(10 * (1 + (i * 7) % 3)),
                     "mx" + std::to_string(i) + ".example.com"});
  std::mt19937_64 rng(42);
  auto random = [&rng] { return rng(); };
  for (auto _ : state) {
    std::vector<wire::MxRecord> records = input;
    wire::order_mx(records, random);
    benchmark::DoNotOptimize(records.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OrderMx)->Arg(2)->Arg(5)->Arg(20);

// DNS wire form of `name` (no compression).
std::string encode_name(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    out += static_cast<char>(dot - start);
    out += name.substr(start, dot - start);
    start = dot + 1;
  }
  out += '\0';
  return out;
}

void put16(std::string& s, uint16_t v) {
  s += static_cast<char>(v >> 8);
  s += static_cast<char>(v & 0xff);
}

// A NOERROR MX answer for example.com with `n` records; owner names use a
// compression pointer to the question (offset 12), as real servers send.
std::string mx_answer(int n) {
  std::string m;
  put16(m, 0x1234);
  put16(m, 0x8180);
  put16(m, 1);
  put16(m, static_cast<uint16_t>(n));
  put16(m, 0);
  put16(m, 0);
  m += encode_name("example.com");
  put16(m, wire::kTypeMx);
  put16(m, 1);
  for (int i = 0; i < n; ++i) {
    m += "\xc0\x0c";
    put16(m, wire::kTypeMx);
    put16(m, 1);
    put16(m, 0);
    put16(m, 3600);
    std::string rdata;
    put16(rdata, static_cast<uint16_t>(10 * (i % 3 + 1)));
    rdata += encode_name("mx" + std::to_string(i) + ".mail.example.com");
    put16(m, static_cast<uint16_t>(rdata.size()));
    m += rdata;
  }
  return m;
}

void BM_ParseMxAnswer(benchmark::State& state) {
  const std::string msg = mx_answer(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    wire::Answer a;
    std::string error;
    if (!wire::parse_answer(reinterpret_cast<const uint8_t*>(msg.data()), msg.size(), wire::kTypeMx,
                            &a, &error) ||
        a.mx.size() != static_cast<size_t>(state.range(0))) {
      state.SkipWithError(("parse_answer: " + error).c_str());
      break;
    }
    benchmark::DoNotOptimize(a.mx.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseMxAnswer)->Arg(2)->Arg(10);

}  // namespace
