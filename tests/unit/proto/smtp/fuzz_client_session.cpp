// tests/unit/proto/smtp/fuzz_client_session.cpp — libFuzzer target for
// proto/smtp/client_session (built by tests/fuzz/smtp_client.cmake).
//
// Input: one flags byte, then arbitrary server bytes. The harness plays the
// glue: it feeds the bytes in pieces, starts a transaction whenever the
// session is Ready (up to three), then QUITs; it answers the STARTTLS hook;
// at the end of input it reports a disconnect. Invariants: no crash, the
// session ends closed, every started transaction has exactly one result
// with one RecipientResult per recipient, each with a sane code and an
// enhanced code whose class agrees with the outcome.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>

#include "proto/smtp/client_session.h"

using namespace ringmta::smtp;

namespace {

OutboundEnvelope envelope(unsigned n, unsigned variant) {
  OutboundEnvelope e;
  e.sender = variant & 1 ? "" : "alice@relay.example";
  e.body = variant & 2 ? BodyType::EightBitMime : BodyType::Unspecified;
  e.ret = Ret::Headers;
  e.envid = "id+1";
  for (unsigned i = 0; i < n; ++i) {
    Recipient r;
    r.address = "r" + std::to_string(i) + "@dest.example";
    r.notify = static_cast<uint8_t>(i % 2 ? kNotifySuccess | kNotifyFailure : 0);
    if (i == 2) r.orcpt = "rfc822;r2+x@dest.example";
    e.recipients.push_back(r);
  }
  return e;
}

void check(const TransactionResult& tr, size_t expected) {
  if (tr.recipients.size() != expected) abort();
  for (const auto& r : tr.recipients) {
    if (r.code < 200 || r.code > 599 || r.enhanced.size() < 5 || r.text.empty()) abort();
    char want = r.outcome == Outcome::Accepted ? '2' : r.outcome == Outcome::TempFail ? '4' : '5';
    if (r.enhanced[0] != want) abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  ClientConfig cfg;
  cfg.hostname = "relay.example";
  cfg.use_pipelining = flags & 1;
  cfg.offer_starttls = flags & 2;
  cfg.reply_limits.max_line = 512;
  cfg.data_piece = 1 + (flags >> 3) % 16;
  size_t piece = 1 + ((flags >> 2) & 7) * 9;
  static const std::string message = "Subject: x\r\n\r\n.dot\r\nline\nlast";

  ClientSession s(cfg);
  std::deque<size_t> pending;  // recipient counts of started transactions, in order
  unsigned started = 0;
  auto drain = [&]() {
    for (int guard = 0; s.has_output() && guard < 100000; ++guard) s.take_output();
    while (s.has_result()) {
      if (pending.empty()) abort();  // a result nobody asked for
      check(s.take_result(), pending.front());
      pending.pop_front();
    }
  };
  auto act = [&](ClientAction a) {
    for (int guard = 0; guard < 8; ++guard) {
      drain();
      switch (a) {
        case ClientAction::Ready:
          if (started < 3) {
            unsigned n = (flags >> 5) + started;  // 0..9 recipients
            pending.push_back(n);
            a = s.start_transaction(envelope(n, started + flags), message);
            ++started;
            continue;
          }
          a = s.quit();
          continue;
        case ClientAction::StartTlsOffered:
          a = (flags & 0x80) ? s.starttls() : s.skip_starttls();
          continue;
        case ClientAction::StartTlsHandshake:
          a = s.tls_established();
          continue;
        default:
          return;
      }
    }
    drain();
  };
  while (!in.empty() && !s.closed()) {
    std::string_view chunk = in.substr(0, piece);
    in.remove_prefix(chunk.size());
    act(s.feed(chunk));
    if (flags & 0x10) s.output_written();
  }
  act(s.on_disconnect());
  drain();
  if (!s.closed() || !pending.empty()) abort();
  return 0;
}
