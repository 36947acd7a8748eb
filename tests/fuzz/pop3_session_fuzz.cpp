// tests/fuzz/pop3_session_fuzz.cpp — libFuzzer target for pop3::ServerSession.
//
// Input: byte 0 = session flags, byte 1 = host flags, then the client's
// bytes, cut either every N bytes or by [length][bytes] records. The host
// answers every request at once and deterministically from the flags:
// PLAIN/USER logins with password "pw" succeed, "tf" is a temporary
// failure, "x" is throttled, anything else invalid; the maildrop lock is
// granted or refused; a fixed maildrop of four messages (dot lines, bare
// LFs, an empty one, a long one); reads of message 2 may fail; the commit
// may fail; the host may hand over more bytes than asked.
//
// Invariants checked:
//  * Close is sticky and nothing is produced after it;
//  * an Action matches the phase; fetch requests are in range, contiguous
//    and within fetch_chunk; a commit names marked messages only, and only
//    after QUIT in TRANSACTION;
//  * the password is cleared once auth_done() returned;
//  * the output taken at once stays below output_limit + 2*fetch_chunk +
//    a line, and whenever the session waits for the client it ends in CRLF;
//    buffered input is then below one command line;
//  * after STLS the bytes sent before the handshake produce nothing;
//  * (host flag) the chunked run gives exactly the output and host log of
//    feeding everything at once — splits must not matter.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "proto/pop3/server_session.h"

using namespace ringmta::pop3;

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant failed: %s\n", what);
    std::abort();
  }
}

std::vector<std::string> maildrop_bytes() {
  std::string longmsg = "Subject: long\r\n\r\n";
  for (int i = 0; i < 40; ++i) longmsg += (i % 5 == 0 ? "." : "") + std::string(static_cast<size_t>(i), 'y') + "\r\n";
  return {"Subject: a\r\n\r\n.\r\n..\r\nbody\r\n", "A: b\nC: d\n\n.x\n\rz\r", "", longmsg};
}

struct Run {
  std::string output;
  std::string host;
  bool starttls = false;
};

Run run(const std::shared_ptr<ServerConfig>& cfg, const ClientInfo& client, uint8_t hf,
        const std::vector<std::string_view>& chunks, bool events) {
  static const std::vector<std::string> messages = maildrop_bytes();
  Run r;
  ServerSession s(cfg, client);
  s.start();
  bool closed = false;
  bool handshake_pending = false;
  uint64_t next_offset = 0;
  size_t fetch_index = SIZE_MAX;
  const size_t out_bound = cfg->output_limit + 2 * cfg->fetch_chunk + 1024;
  auto collect = [&] {
    std::string o = s.take_output();
    if (closed) check(o.empty(), "no output after close");
    check(o.size() <= out_bound, "output bounded");
    r.output += o;
  };
  auto settle = [&](Action a) {
    for (int guard = 0; guard < 100000; ++guard) {
      collect();
      if (a == Action::AuthCheck) {
        check(s.phase() == Phase::AwaitAuth, "AuthCheck means AwaitAuth");
        const std::string pw = s.auth_request().password;
        check(!s.auth_request().user.empty() && !pw.empty(), "credentials present");
        const AuthResult v = pw == "pw" ? AuthResult::Ok
                             : pw == "tf" ? AuthResult::TempFail
                             : pw == "x"  ? AuthResult::Throttled
                                          : AuthResult::Invalid;
        r.host += "auth " + s.auth_request().user + "\n";
        a = s.auth_done(v, (hf & 0x80) ? "mbox" : "");
        if (a != Action::AuthCheck) check(s.auth_request().password.empty(), "password cleared");
        continue;
      }
      if (a == Action::LoadMaildrop) {
        check(s.phase() == Phase::AwaitMaildrop, "LoadMaildrop means AwaitMaildrop");
        check(!s.user().empty(), "maildrop owner known");
        r.host += "load\n";
        switch (hf & 3) {
          case 1: a = s.maildrop_refused(MaildropError::InUse); break;
          case 2: a = s.maildrop_refused(MaildropError::TempFail); break;
          default: {
            std::vector<MessageInfo> list;
            for (size_t i = 0; i < messages.size(); ++i) list.push_back({messages[i].size(), "u" + std::to_string(i)});
            a = s.maildrop_loaded(std::move(list));
          }
        }
        if ((hf & 3) == 0 || (hf & 3) == 3) check(s.state() != State::Authorization, "loaded means TRANSACTION");
        continue;
      }
      if (a == Action::Fetch) {
        check(s.phase() == Phase::AwaitMessage, "Fetch means AwaitMessage");
        const FetchRequest f = s.fetch_request();
        check(f.index < messages.size(), "fetch in range");
        check(f.max_bytes >= 1 && f.max_bytes <= cfg->fetch_chunk, "fetch within chunk");
        if (f.offset == 0) fetch_index = f.index;
        check(f.index == fetch_index && f.offset == (f.offset == 0 ? 0 : next_offset), "fetch contiguous");
        const std::string& m = messages[f.index];
        if ((hf & 4) && f.index == 1 && f.offset >= ((hf & 8) ? 1u : 0u)) {
          r.host += "fetch failed\n";
          a = s.message_failed();
          continue;
        }
        check(f.offset <= m.size(), "offset inside the message");
        // Host flag 0x10: hand over up to twice what was asked.
        const size_t give = (hf & 0x10) ? f.max_bytes * 2 : f.max_bytes;
        const std::string_view part = std::string_view(m).substr(f.offset, give);
        const bool end = f.offset + part.size() >= m.size();
        next_offset = f.offset + std::min(part.size(), f.max_bytes);
        a = s.message_data(part, end);
        continue;
      }
      if (a == Action::Commit) {
        check(s.state() == State::Update, "Commit means UPDATE");
        const auto del = s.deletions();
        check(!del.empty(), "a commit deletes something");
        for (size_t i = 0; i < del.size(); ++i) {
          check(del[i] < s.message_count(), "deletion in range");
          if (i) check(del[i - 1] < del[i], "deletions ascending");
        }
        check(s.live_count() + del.size() == s.message_count(), "live count matches");
        r.host += "commit " + std::to_string(del.size()) + "\n";
        a = s.commit_done(!(hf & 0x20));
        check(a == Action::Close, "the commit ends the session");
        continue;
      }
      if (a == Action::NeedInput) {
        const Action b = s.resume();
        if (b == Action::NeedInput && !s.has_output()) break;
        a = b;
        continue;
      }
      break;  // StartTls, Close
    }
    collect();
    if (a == Action::StartTls) {
      check(s.phase() == Phase::TlsHandshake, "StartTls means TlsHandshake");
      check(r.output.size() >= 27 && r.output.compare(r.output.size() - 27, 27, "+OK Begin TLS negotiation\r\n") == 0,
            "StartTls follows the +OK");
      check(s.buffered_input() == 0, "nothing buffered across STLS");
      handshake_pending = true;
      r.starttls = true;
    }
    if (a == Action::Close || s.phase() == Phase::Closed) {
      check(a == Action::Close && s.state() == State::Closed, "Close means Closed");
      closed = true;
    }
    const Phase p = s.phase();
    if (p == Phase::Command || p == Phase::SaslResponse) {
      check(r.output.size() >= 2 && r.output.compare(r.output.size() - 2, 2, "\r\n") == 0,
            "waiting for the client after whole lines");
      check(s.buffered_input() < cfg->max_line_length, "buffer below one line");
    }
  };
  collect();  // the greeting
  size_t n = 0;
  for (std::string_view c : chunks) {
    if (handshake_pending && closed) handshake_pending = false;  // a timeout during the handshake
    if (handshake_pending) {
      const std::string before = r.output;
      check(s.feed(c) == Action::NeedInput, "input during the handshake is ignored");
      collect();
      check(r.output == before, "no response to plaintext after STLS");
      handshake_pending = false;
      settle(s.tls_started());
      check(s.tls_active(), "TLS active after tls_started");
      continue;
    }
    const Action a = s.feed(c);
    if (closed) check(a == Action::Close, "Close is sticky");
    settle(a);
    if (events && ++n == chunks.size() / 2) {
      if (hf & 0x40) settle(s.on_timeout());
      else settle(s.on_shutdown());
    }
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t sf = data[0];
  const uint8_t hf = data[1];
  auto cfg = std::make_shared<ServerConfig>();
  cfg->hostname = "pop.fuzz.example";
  if (sf & 8) {  // tiny limits reach the limit paths quickly
    cfg->max_line_length = 40;
    cfg->output_limit = 64;
    cfg->fetch_chunk = 7;
    cfg->max_errors = 5;
    cfg->input_limit = 128;
  } else {
    cfg->max_line_length = 255;
    cfg->output_limit = 4096;
    cfg->fetch_chunk = 64;
    cfg->max_errors = 1000;
  }
  ClientInfo client;
  client.allow_plaintext_auth = (sf & 1) != 0;
  client.stls_available = (sf & 2) != 0;
  client.tls_active = (sf & 4) != 0;
  std::string_view all(reinterpret_cast<const char*>(data) + 2, size - 2);
  std::vector<std::string_view> chunks;
  size_t i = 0;
  if (sf & 0x10) {
    while (i < all.size()) {
      size_t len = static_cast<uint8_t>(all[i++]) % 65;
      if (len == 0) len = 1;
      chunks.push_back(all.substr(i, len));
      i += chunks.back().size();
    }
  } else {
    const size_t step = ((sf >> 5) & 7) + 1;
    for (; i < all.size(); i += step) chunks.push_back(all.substr(i, step));
  }
  // Session flag 0x80: a timeout (host flag 0x40) or shutdown halfway
  // through, instead of the split comparison.
  const bool events = (sf & 0x80) != 0;
  Run chunked = run(cfg, client, hf, chunks, events);
  if (!events) {
    std::string joined;
    for (auto c : chunks) joined += c;
    Run whole = run(cfg, client, hf, {joined}, false);
    if (!whole.starttls && !chunked.starttls) {
      check(whole.output == chunked.output, "output independent of splits");
      check(whole.host == chunked.host, "host requests independent of splits");
    }
  }
  return 0;
}
