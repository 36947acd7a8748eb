// tools/sendmail_main.cpp — `ringmta-sendmail`: the sendmail(1) entry point
// for local programs (cron, scripts, PHP's mail()) that hand a message to
// "sendmail -t -i" on stdin.
//
//   ringmta-sendmail [-t] [-i|-oi] [-f ADDR] [-F NAME] [--config FILE] [recipient...]
//
// It reads the message, applies -t/-i (tools/sendmail_message.h) and submits
// it over SMTP to the daemon's first smtp (else submission) listener from the
// configuration (--config, else $RINGMTA_CONFIG, else /etc/ringmta/ringmta.toml
// when it exists, else the embedded default 127.0.0.1:2525), using the
// protocol state machine smtp::ClientSession on a blocking socket (this is a
// separate short-lived process, not a shard). The daemon's relay rules apply
// as to any local client (127.0.0.1 is trusted by default).
//
// Exit codes (sysexits.h, as sendmail): 0 queued for every recipient;
// EX_USAGE bad command line or no recipients; EX_CONFIG bad configuration;
// EX_NOINPUT stdin unreadable; EX_UNAVAILABLE a recipient or the message was
// refused permanently (5xx; accepted recipients are still queued);
// EX_TEMPFAIL the daemon is not reachable or answered 4xx (try again later).
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sysexits.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "mail/datetime.h"
#include "proto/smtp/client_session.h"
#include "config/config.h"
#include "tools/sendmail_message.h"

namespace {

using namespace ringmta;

constexpr int kTimeoutMs = 120'000;  // per read/write: the daemon answers 250 after its fsync

int die(int code, const std::string& message) {
  std::fprintf(stderr, "ringmta-sendmail: %s\n", message.c_str());
  return code;
}

std::string login_name() {
  if (const passwd* pw = ::getpwuid(::getuid()); pw && pw->pw_name) return pw->pw_name;
  if (const char* u = std::getenv("USER"); u && *u) return u;
  return "nobody";
}

// Where to submit: the first smtp listener, else the first submission one.
// A wildcard address means "this host": use its loopback address.
std::optional<engine::SocketAddress> submit_address(const config::Config& config) {
  for (auto kind : {config::ListenerKind::Smtp, config::ListenerKind::Submission}) {
    for (const auto& l : config.listeners) {
      if (l.kind != kind) continue;
      engine::SocketAddress a = l.address;
      const std::string ip = a.ip();
      if (ip == "0.0.0.0") return engine::SocketAddress::from_ip("127.0.0.1", a.port());
      if (ip == "::") return engine::SocketAddress::from_ip("::1", a.port());
      return a;
    }
  }
  return std::nullopt;
}

bool read_all(FILE* in, std::string& out) {
  char buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, in)) > 0) out.append(buf, n);
  return !std::ferror(in);
}

// Write what the session has, wait for the daemon's bytes, feed them; until
// the session wants more than output (Ready/Close/...). false on I/O error.
bool pump(int fd, smtp::ClientSession& s, smtp::ClientAction& action, std::string* error) {
  for (;;) {
    while (s.has_output()) {
      const std::string out = s.take_output();
      for (size_t off = 0; off < out.size();) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, kTimeoutMs) <= 0) {
          *error = "timed out writing to the daemon";
          return false;
        }
        ssize_t n = ::send(fd, out.data() + off, out.size() - off, MSG_NOSIGNAL);
        if (n <= 0) {
          *error = std::string("write: ") + std::strerror(errno);
          return false;
        }
        off += static_cast<size_t>(n);
      }
      s.output_written();
    }
    if (action != smtp::ClientAction::NeedInput) return true;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, kTimeoutMs) <= 0) {
      action = s.on_timeout();
      continue;
    }
    char buf[16384];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    action = n > 0 ? s.feed(std::string_view(buf, static_cast<size_t>(n))) : s.on_disconnect();
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto opts = tools::parse_args(args);
  if (!opts) return die(EX_USAGE, opts.error());
  if (opts->help) {
    std::printf("usage: ringmta-sendmail [-t] [-i|-oi] [-f ADDR] [-F NAME] [--config FILE] [recipient...]\n"
                "Reads a message on stdin and submits it to the local ringmta daemon.\n");
    return EX_OK;
  }

  std::string config_path = opts->config_path;
  if (config_path.empty()) {
    if (const char* c = std::getenv("RINGMTA_CONFIG"); c && *c) config_path = c;
    else if (std::filesystem::exists("/etc/ringmta/ringmta.toml")) config_path = "/etc/ringmta/ringmta.toml";
  }
  auto loaded = config_path.empty() ? config::default_config() : config::load_config_file(config_path);
  if (!loaded) return die(EX_CONFIG, loaded.error());
  const config::Config& config = *loaded;
  auto target = submit_address(config);
  if (!target) return die(EX_CONFIG, "the configuration has no smtp or submission listener to submit to");

  std::string raw;
  if (!read_all(stdin, raw)) return die(EX_NOINPUT, std::string("cannot read the message: ") + std::strerror(errno));
  const std::string sender = opts->sender.value_or(login_name() + "@" + config.server.hostname);

  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch()).count();
  std::mt19937_64 rng(std::random_device{}());
  char idbuf[64];
  std::snprintf(idbuf, sizeof idbuf, "<%lld.%016llx@", static_cast<long long>(now),
                static_cast<unsigned long long>(rng()));
  const std::string from = opts->full_name.empty() ? (sender.empty() ? std::string() : sender)
                                                   : "\"" + opts->full_name + "\" <" + sender + ">";
  auto prepared = tools::prepare_message(tools::normalize_input(raw, opts->ignore_dots),
                                                   opts->extract_recipients, from, mail::rfc5322_date(now),
                                                   std::string(idbuf) + config.server.hostname + ">");
  std::vector<std::string> recipients = opts->recipients;
  for (auto& r : prepared.recipients) recipients.push_back(std::move(r));
  if (recipients.empty())
    return die(EX_USAGE, opts->extract_recipients ? "no recipient addresses found in the header"
                                                  : "no recipients given (name them, or use -t)");

  int fd = ::socket(target->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, target->data(), target->size()) != 0)
    return die(EX_TEMPFAIL, "cannot connect to ringmta at " + target->to_string() + ": " + std::strerror(errno));

  smtp::ClientConfig cc;
  cc.hostname = config.server.hostname;
  smtp::ClientSession session(cc);
  smtp::ClientAction action = smtp::ClientAction::NeedInput;
  std::string error;
  if (!pump(fd, session, action, &error)) return die(EX_TEMPFAIL, error);
  if (action != smtp::ClientAction::Ready) {
    const auto& f = session.connection_failure();
    ::close(fd);
    return die(f && f->permanent ? EX_UNAVAILABLE : EX_TEMPFAIL,
               "ringmta at " + target->to_string() + " refused the session: " + (f ? f->text : "connection closed"));
  }

  smtp::OutboundEnvelope env;
  env.sender = sender;
  bool eight_bit = false;
  for (unsigned char c : prepared.message) eight_bit |= c >= 0x80;
  env.body = eight_bit ? smtp::BodyType::EightBitMime : smtp::BodyType::Unspecified;
  for (const auto& r : recipients) env.recipients.push_back(smtp::Recipient{r, "", 0});
  action = session.start_transaction(std::move(env), prepared.message);
  if (!pump(fd, session, action, &error) && !session.has_result()) return die(EX_TEMPFAIL, error);
  if (!session.has_result()) return die(EX_TEMPFAIL, "no answer from ringmta for the message");
  smtp::TransactionResult result = session.take_result();
  if (action == smtp::ClientAction::Ready) {
    action = session.quit();
    (void)pump(fd, session, action, &error);
  }
  ::close(fd);

  int rc = EX_OK;
  for (size_t i = 0; i < result.recipients.size() && i < recipients.size(); ++i) {
    const auto& r = result.recipients[i];
    if (r.outcome == smtp::Outcome::Accepted) continue;
    std::fprintf(stderr, "ringmta-sendmail: <%s>: %s\n", recipients[i].c_str(), r.text.c_str());
    if (r.outcome == smtp::Outcome::PermFail) rc = EX_UNAVAILABLE;
    else if (rc == EX_OK) rc = EX_TEMPFAIL;
  }
  return rc;
}
