// tests/unit/proto/smtp/client_session_test.cpp — ClientSession API checks
// that read better as code than as transcripts: stage reporting, misuse,
// large bodies, and a bounded randomized run of the "one result per
// recipient" invariant (the fuzz target checks it more deeply).
#include "proto/smtp/client_session.h"

#include <gtest/gtest.h>

#include <random>

#include "proto/smtp/data_decoder.h"

using namespace ringmta::smtp;

namespace {

OutboundEnvelope envelope(size_t n) {
  OutboundEnvelope e;
  e.sender = "a@relay.example";
  for (size_t i = 0; i < n; ++i) {
    Recipient r;
    r.address = "r" + std::to_string(i) + "@dest.example";
    r.notify = kNotifySuccess;
    e.recipients.push_back(r);
  }
  return e;
}

// A session past EHLO; data_piece (if not 0) is the body piece size.
ClientSession ready_session(std::string_view ehlo_reply, size_t data_piece = 0) {
  ClientConfig cfg;
  cfg.hostname = "relay.example";
  if (data_piece) cfg.data_piece = data_piece;
  ClientSession s(cfg);
  EXPECT_EQ(s.stage(), Stage::Greeting);
  s.feed("220 mx ESMTP\r\n");
  EXPECT_EQ(s.take_output(), "EHLO relay.example\r\n");
  EXPECT_EQ(s.feed(ehlo_reply), ClientAction::Ready);
  return s;
}

}  // namespace

TEST(ClientSession, LargeBodyIsSentDotStuffedOnce) {
  ClientConfig cfg;
  ClientSession s(cfg);
  s.feed("220 mx\r\n");
  s.feed("250-mx\r\n250 PIPELINING\r\n");
  s.take_output();
  std::string body;
  for (int i = 0; i < 20000; ++i) body += (i % 7 == 0 ? ".line " : "line ") + std::to_string(i) + "\r\n";
  EXPECT_EQ(s.start_transaction(envelope(1), body), ClientAction::NeedInput);
  s.take_output();
  s.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  std::string out;
  size_t pieces = 0;
  while (s.has_output()) {
    std::string piece = s.take_output();
    EXPECT_LE(piece.size(), 64 * 1024 + 16);  // bounded memory per connection
    out += piece;
    ++pieces;
  }
  EXPECT_GT(pieces, 3u);
  EXPECT_EQ(out.size(), body.size() + 20000 / 7 + 1 + 3);
  EXPECT_EQ(out.substr(0, 8), "..line 0");
  EXPECT_EQ(out.substr(out.size() - 5), "\r\n.\r\n");
  EXPECT_EQ(s.stage(), Stage::DataBlock);
  s.output_written();
  EXPECT_EQ(s.stage(), Stage::EndOfData);
  EXPECT_EQ(s.feed("250 queued\r\n"), ClientAction::Ready);
  ASSERT_TRUE(s.has_result());
  auto r = s.take_result();
  ASSERT_EQ(r.recipients.size(), 1u);
  EXPECT_EQ(r.recipients[0].outcome, Outcome::Accepted);
  EXPECT_TRUE(r.recipients[0].relayed);  // NOTIFY=SUCCESS, remote without DSN
  EXPECT_FALSE(s.has_result());
}

TEST(ClientSession, EmptyRecipientListAndStartWhileBusy) {
  ClientSession s = ready_session("250 mx\r\n");
  EXPECT_EQ(s.start_transaction(envelope(0), "x\r\n"), ClientAction::Ready);
  ASSERT_TRUE(s.has_result());
  EXPECT_TRUE(s.take_result().recipients.empty());
  EXPECT_EQ(s.start_transaction(envelope(2), "x\r\n"), ClientAction::NeedInput);
  EXPECT_TRUE(s.in_transaction());
  // A second transaction while the first is running: refused with temp results,
  // the running one is untouched.
  s.start_transaction(envelope(3), "y\r\n");
  ASSERT_TRUE(s.has_result());
  auto busy = s.take_result();
  ASSERT_EQ(busy.recipients.size(), 3u);
  EXPECT_EQ(busy.recipients[0].outcome, Outcome::TempFail);
  EXPECT_TRUE(busy.recipients[0].local);
  EXPECT_TRUE(s.in_transaction());
  EXPECT_EQ(s.take_output(), "MAIL FROM:<a@relay.example>\r\n");
}

TEST(ClientSession, BinaryMimeRefusedLocally) {
  ClientSession s = ready_session("250-mx\r\n250-CHUNKING\r\n250 BINARYMIME\r\n");
  OutboundEnvelope e = envelope(1);
  e.body = BodyType::BinaryMime;
  EXPECT_EQ(s.start_transaction(e, "x\r\n"), ClientAction::Ready);
  auto r = s.take_result();
  EXPECT_EQ(r.recipients[0].outcome, Outcome::PermFail);
  EXPECT_EQ(r.recipients[0].enhanced, "5.6.3");
  EXPECT_FALSE(s.has_output());
}

TEST(ClientSession, QuitAfterEofAndSkipStartTls) {
  ClientConfig cfg;
  cfg.offer_starttls = true;
  ClientSession s(cfg);
  s.feed("220 mx\r\n");
  EXPECT_EQ(s.feed("250-mx\r\n250 STARTTLS\r\n"), ClientAction::StartTlsOffered);
  EXPECT_EQ(s.skip_starttls(), ClientAction::Ready);
  EXPECT_FALSE(s.tls_active());
  EXPECT_EQ(s.on_disconnect(), ClientAction::Close);  // idle hang-up: nothing pending
  EXPECT_FALSE(s.connection_failure().has_value());
  EXPECT_EQ(s.quit(), ClientAction::Close);
}

// Bounded randomized check: whatever the server sends, every started
// transaction ends with exactly one result per recipient once the session
// is closed (here: after feeding, a disconnect is always delivered).
TEST(ClientSession, RandomServerBytesKeepResultInvariant) {
  static const char* pieces[] = {"220 mx\r\n", "250 ok\r\n", "250-PIPELINING\r\n", "250-DSN\r\n", "250-SIZE 10\r\n",
                                 "354 go\r\n", "421 bye\r\n", "450 no\r\n", "550 no\r\n", "452 many\r\n",
                                 "503 seq\r\n", "221 bye\r\n", "garbage\r\n", "25", "0 x\n", "\r\n"};
  std::mt19937 rng(12345);
  for (int iter = 0; iter < 3000; ++iter) {
    ClientConfig cfg;
    cfg.use_pipelining = rng() % 2;
    ClientSession s(cfg);
    size_t started = 0, results = 0, expected_rcpts = 0, got_rcpts = 0;
    for (int step = 0; step < 30 && !s.closed(); ++step) {
      ClientAction a = s.feed(pieces[rng() % std::size(pieces)]);
      s.take_output();
      if (a == ClientAction::Ready && rng() % 2) {
        size_t n = rng() % 4;
        ++started;
        expected_rcpts += n;
        s.start_transaction(envelope(n), "body\r\n");
      }
      while (s.has_result()) {
        ++results;
        got_rcpts += s.take_result().recipients.size();
      }
    }
    s.on_disconnect();
    while (s.has_result()) {
      ++results;
      got_rcpts += s.take_result().recipients.size();
    }
    ASSERT_TRUE(s.closed());
    ASSERT_EQ(started, results) << iter;
    ASSERT_EQ(expected_rcpts, got_rcpts) << iter;
  }
}

// The server answers before the body is out (552 message too big): the
// accepted recipients get that reply, nothing more of the body is sent, and
// the connection is closed (the rest of the body would read as commands).
TEST(ClientSession, ReplyWhileBodyStreaming) {
  ClientSession s = ready_session("250-mx\r\n250 PIPELINING\r\n", 10);
  std::string body(1000, 'a');
  s.start_transaction(envelope(2), body);
  s.take_output();
  s.feed("250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n");
  EXPECT_EQ(s.take_output(), std::string(10, 'a'));
  EXPECT_EQ(s.stage(), Stage::DataBlock);
  s.output_written();
  EXPECT_EQ(s.stage(), Stage::DataBlock);  // still more body to go
  EXPECT_EQ(s.feed("552 5.3.4 message too big\r\n"), ClientAction::Close);
  EXPECT_FALSE(s.has_output());
  auto r = s.take_result();
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].outcome, Outcome::PermFail);
  EXPECT_EQ(r.recipients[0].enhanced, "5.3.4");
  EXPECT_EQ(r.recipients[0].stage, Stage::DataBlock);
  EXPECT_EQ(r.recipients[1].code, 550);
  ASSERT_TRUE(s.connection_failure().has_value());
}

TEST(ClientSession, TimeoutWhileBodyStreamingStopsIt) {
  ClientConfig cfg;
  cfg.data_piece = 10;
  ClientSession s(cfg);
  s.feed("220 mx\r\n");
  s.feed("250 mx\r\n");
  s.take_output();
  std::string body(1000, 'a');
  s.start_transaction(envelope(1), body);
  s.feed("250 ok\r\n");
  s.feed("250 ok\r\n");
  s.feed("354 go\r\n");
  s.take_output();
  EXPECT_TRUE(s.has_output());
  EXPECT_EQ(s.on_timeout(), ClientAction::Close);
  EXPECT_FALSE(s.has_output());
  auto r = s.take_result();
  EXPECT_EQ(r.recipients[0].outcome, Outcome::TempFail);
  EXPECT_EQ(r.recipients[0].text, "421 4.4.2 timeout in stage data block");
}

// A nonsense reply to MAIL in a pipelined group is reported at MAIL, not at
// the RCPT whose reply is next in line.
TEST(ClientSession, ProtocolErrorNamesTheAnsweredStage) {
  ClientSession s = ready_session("250-mx\r\n250 PIPELINING\r\n");
  s.start_transaction(envelope(1), "x\r\n");
  EXPECT_EQ(s.feed("354 what\r\n"), ClientAction::Close);
  auto r = s.take_result();
  EXPECT_EQ(r.recipients[0].stage, Stage::Mail);
  EXPECT_EQ(r.recipients[0].text, "451 4.5.0 protocol error in stage MAIL: unexpected reply to MAIL 354 what");
}

TEST(ClientSession, Rfc5321Timeouts) {
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::Greeting), 300u);
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::Mail), 300u);
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::Rcpt), 300u);
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::DataInit), 120u);
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::DataBlock), 180u);
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::EndOfData), 600u);
  EXPECT_EQ(rfc5321_timeout_seconds(Stage::Idle), 0u);
}

// BDAT: the size sent up front is exactly the number of body bytes that
// follow, whatever the line ends and however the body is cut into pieces.
TEST(ClientSession, BdatSizeMatchesTheBytesSent) {
  std::mt19937 rng(4242);
  static const char* atoms[] = {"a", "\r\n", "\n", "\r", ".", "..", "line", "\r\n.\r\n", ""};
  for (int iter = 0; iter < 500; ++iter) {
    std::string body;
    for (int k = rng() % 20; k > 0; --k) body += atoms[rng() % 9];
    ClientSession s = ready_session("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", 1 + rng() % 8);
    s.start_transaction(envelope(1), body);
    std::string out;
    while (s.has_output()) out += s.take_output();
    const std::string head = "MAIL FROM:<a@relay.example>\r\nRCPT TO:<r0@dest.example>\r\nBDAT ";
    ASSERT_EQ(out.compare(0, head.size(), head), 0) << out;
    size_t eol = out.find(" LAST\r\n", head.size());
    ASSERT_NE(eol, std::string::npos);
    const size_t n = std::stoul(out.substr(head.size(), eol - head.size()));
    const std::string sent = out.substr(eol + 7);
    ASSERT_EQ(sent.size(), n) << iter;
    // CRLF only: nothing added but CRs before bare LFs, LFs after bare CRs
    // and a final CRLF.
    for (size_t i = 0; i < sent.size(); ++i) {
      if (sent[i] == '\n') {
        ASSERT_TRUE(i > 0 && sent[i - 1] == '\r') << iter;
      }
      if (sent[i] == '\r') {
        ASSERT_TRUE(i + 1 < sent.size() && sent[i + 1] == '\n') << iter;
      }
    }
    if (!sent.empty()) ASSERT_EQ(sent.substr(sent.size() - 2), "\r\n");
    s.output_written();
    EXPECT_EQ(s.feed("250 ok\r\n250 ok\r\n250 queued\r\n"), ClientAction::Ready);
    EXPECT_EQ(s.take_result().recipients[0].outcome, Outcome::Accepted);
  }
}

// BDAT: replies to MAIL and RCPT while the body streams are normal, but a
// reply to BDAT itself before the whole chunk is out ends the connection
// (the server lost count; the rest would be read as commands).
TEST(ClientSession, BdatReplyBeforeTheChunkIsOut) {
  ClientSession s = ready_session("250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n", 10);
  std::string body(1000, 'a');
  s.start_transaction(envelope(2), body);
  EXPECT_EQ(s.take_output(),
            "MAIL FROM:<a@relay.example>\r\nRCPT TO:<r0@dest.example>\r\nRCPT TO:<r1@dest.example>\r\n"
            "BDAT 1002 LAST\r\n");
  EXPECT_EQ(s.take_output(), std::string(10, 'a'));
  EXPECT_EQ(s.feed("250 ok\r\n250 ok\r\n550 no\r\n"), ClientAction::NeedInput);
  EXPECT_EQ(s.stage(), Stage::DataBlock);
  EXPECT_TRUE(s.has_output());
  EXPECT_EQ(s.feed("552 5.3.4 message too big\r\n"), ClientAction::Close);
  EXPECT_FALSE(s.has_output());
  auto r = s.take_result();
  ASSERT_EQ(r.recipients.size(), 2u);
  EXPECT_EQ(r.recipients[0].enhanced, "5.3.4");
  EXPECT_EQ(r.recipients[0].stage, Stage::DataBlock);
  EXPECT_EQ(r.recipients[1].code, 550);
}

namespace {

// The DATA body a session sends for `message` (everything after the 354).
std::string data_body_sent(std::string_view message, size_t piece) {
  ClientSession s = ready_session("250-mx\r\n250 PIPELINING\r\n", piece);
  s.start_transaction(envelope(1), message);  // must outlive the session: it is not copied
  s.take_output();
  s.feed("250 ok\r\n250 ok\r\n354 go\r\n");
  std::string out;
  for (int guard = 0; s.has_output() && guard < 100000; ++guard) out += s.take_output();
  return out;
}

// The lines of `wire` as a receiver that ends lines at CRLF, bare CR or bare
// LF sees them (each of these has been used to smuggle a second message).
std::vector<std::string> lenient_lines(std::string_view wire) {
  std::vector<std::string> lines(1);
  for (size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\r' || wire[i] == '\n') {
      if (wire[i] == '\r' && i + 1 < wire.size() && wire[i + 1] == '\n') ++i;
      lines.emplace_back();
    } else {
      lines.back() += wire[i];
    }
  }
  return lines;
}

}  // namespace

// The smuggling endings of issue 15, stored as they are (as if they had
// reached the queue): whatever a receiver takes as a line end, and even if it
// drops NULs, the only "." line it sees is our end of data.
TEST(ClientSession, DataBodyHasOneEndWhateverTheStoredLineEnds) {
  const std::string_view list[] = {{"\n.\n", 3}, {"\n.\r\n", 4}, {"\r.\r\n", 4}, {"\r\n.\r", 4},
                                   {"\r\n\0.\r\n", 6}, {"\r.\r", 3}, {"\r\n.\n", 4}};
  for (std::string_view ending : list) {
    std::string message = "Subject: s\r\n\r\nbody";
    message += ending;
    message += "MAIL FROM:<evil@x.example>\r\nRCPT TO:<v@dest.example>\r\nDATA\r\nforged\r\n";
    for (size_t piece : {size_t{1}, size_t{3}, size_t{64 * 1024}}) {
      const std::string w = data_body_sent(message, piece);
      {
        std::string no_nul;
        for (char c : w)
          if (c != '\0') no_nul += c;
        for (const std::string& seen : {w, no_nul}) {
          auto lines = lenient_lines(seen);
          ASSERT_GE(lines.size(), 2u);
          EXPECT_EQ(lines[lines.size() - 2], ".") << testing::PrintToString(seen);
          EXPECT_EQ(lines.back(), "");
          for (size_t i = 0; i + 2 < lines.size(); ++i)
            EXPECT_NE(lines[i], ".") << i << " " << testing::PrintToString(seen);
        }
        // Canonical: CR and LF only as CRLF.
        for (size_t i = 0; i < w.size(); ++i) {
          if (w[i] == '\n') {
            ASSERT_TRUE(i > 0 && w[i - 1] == '\r') << testing::PrintToString(w);
          }
          if (w[i] == '\r') {
            ASSERT_TRUE(i + 1 < w.size() && w[i + 1] == '\n') << testing::PrintToString(w);
          }
        }
        // A standard receiver (our own DATA decoder) gets the stored message
        // back with only its line ends made CRLF — one message, all of it.
        DataDecoder d;
        d.reset(1 << 20);
        std::string got;
        auto r = d.feed(w, got);
        EXPECT_TRUE(r.done);
        EXPECT_EQ(r.consumed, w.size());
        EXPECT_FALSE(d.bare_newline());
        EXPECT_NE(got.find("forged\r\n"), std::string::npos);
        EXPECT_EQ(got.substr(0, 16), "Subject: s\r\n\r\nbo");
      }
    }
  }
}

// Bare CR and bare LF each become CRLF, and the line after them is stuffed.
TEST(ClientSession, DataBodyNormalisesBareCrAndLf) {
  EXPECT_EQ(data_body_sent(std::string_view("a\rb\nc\r\n.d\r.e\n.f\r\0g\r", 19), 0),
            std::string_view("a\r\nb\r\nc\r\n..d\r\n..e\r\n..f\r\n.\0g\r\n.\r\n", 32));
  EXPECT_EQ(data_body_sent("x\r", 0), "x\r\n.\r\n");
  EXPECT_EQ(data_body_sent("x", 0), "x\r\n.\r\n");
  EXPECT_EQ(data_body_sent(".\r", 0), "..\r\n.\r\n");
}

// Mail-loop protection: a server naming itself with our own host name
// (ClientConfig::own_hostname) is us; the session QUITs and the connection
// fails permanently with 5.4.6.
namespace {
ClientConfig loop_config() {
  ClientConfig cfg;
  cfg.hostname = "relay.example";
  cfg.own_hostname = "relay.example";
  return cfg;
}
}  // namespace

TEST(ClientSessionLoop, GreetingWithOwnHostnameQuitsWithPermanent546) {
  ClientSession s(loop_config());
  EXPECT_EQ(s.feed("220 Relay.EXAMPLE ESMTP ringmta\r\n"), ClientAction::Close);
  EXPECT_EQ(s.take_output(), "QUIT\r\n");  // no EHLO: nothing more is said to ourselves
  ASSERT_TRUE(s.connection_failure());
  const auto& f = *s.connection_failure();
  EXPECT_TRUE(f.permanent);
  EXPECT_EQ(f.code, 554);
  EXPECT_EQ(f.enhanced, "5.4.6");
  EXPECT_EQ(f.stage, Stage::Greeting);
  EXPECT_NE(f.text.find("mail loops back to myself"), std::string::npos) << f.text;
  EXPECT_NE(f.text.find("greeted me with my own hostname relay.example"), std::string::npos) << f.text;
}

TEST(ClientSessionLoop, EhloReplyWithOwnHostnameQuitsWithPermanent546) {
  ClientSession s(loop_config());
  s.feed("220 gateway.example ESMTP\r\n");  // a proxy in front greets with its own name
  EXPECT_EQ(s.take_output(), "EHLO relay.example\r\n");
  EXPECT_EQ(s.feed("250-relay.example hello\r\n250 PIPELINING\r\n"), ClientAction::Close);
  EXPECT_EQ(s.take_output(), "QUIT\r\n");
  ASSERT_TRUE(s.connection_failure());
  EXPECT_TRUE(s.connection_failure()->permanent);
  EXPECT_EQ(s.connection_failure()->enhanced, "5.4.6");
  EXPECT_EQ(s.connection_failure()->stage, Stage::Ehlo);
}

TEST(ClientSessionLoop, HeloReplyWithOwnHostnameIsALoopToo) {
  ClientSession s(loop_config());
  s.feed("220 old.example\r\n");
  s.take_output();
  s.feed("502 what\r\n");  // no EHLO: HELO follows
  EXPECT_EQ(s.take_output(), "HELO relay.example\r\n");
  EXPECT_EQ(s.feed("250 RELAY.example\r\n"), ClientAction::Close);
  EXPECT_EQ(s.take_output(), "QUIT\r\n");
  ASSERT_TRUE(s.connection_failure());
  EXPECT_EQ(s.connection_failure()->enhanced, "5.4.6");
}

TEST(ClientSessionLoop, OtherNamesAndNoOwnHostnameAreNoLoop) {
  // A name that only starts or ends like ours, and a greeting whose later
  // words name us, are someone else.
  for (const char* greeting : {"220 relay.example.net ESMTP\r\n", "220 mx.relay.example\r\n",
                               "220 mx ESMTP relay.example\r\n"}) {
    ClientSession s(loop_config());
    s.feed(greeting);
    EXPECT_EQ(s.take_output(), "EHLO relay.example\r\n") << greeting;
    EXPECT_EQ(s.feed("250 mx\r\n"), ClientAction::Ready) << greeting;
    EXPECT_FALSE(s.connection_failure()) << greeting;
  }
  ClientConfig off;  // own_hostname "" (the default): no check
  off.hostname = "relay.example";
  ClientSession s(off);
  s.feed("220 relay.example\r\n");
  EXPECT_EQ(s.take_output(), "EHLO relay.example\r\n");
  EXPECT_EQ(s.feed("250 relay.example\r\n"), ClientAction::Ready);
}
