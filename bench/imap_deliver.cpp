// bench/imap_deliver.cpp — how `ringmta-bench imap --mode idle-latency` hands
// a message to the server under test: SMTP (ringmta's own port), LMTP
// (Dovecot's lmtp service) or a local delivery command (dovecot-lda).
//
// A plain blocking client on the delivery thread: it is not what is measured.
// What is measured starts when deliver() returns — after the final reply to
// DATA (every per-recipient reply for LMTP) or the command's exit — and ends
// when an idling session reads "* n EXISTS" (imap_run.cpp).
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <string>

#include "bench/imap.h"

namespace ringmta::bench {
namespace {

std::string message_for(uint64_t n, const std::string& to, const char* eol) {
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
  std::string m;
  const std::string e = eol;
  m += "From: <bench@ringmta-bench.test>" + e + "To: <" + to + ">" + e;
  m += "Subject: idle latency probe " + std::to_string(n) + e;
  m += "Message-ID: <idle." + std::to_string(n) + "." + std::to_string(now) + "@ringmta-bench.test>" + e;
  m += std::string("Date: ") + date + e + e;
  for (int i = 0; i < 8; i++) m += "probe body line " + std::to_string(i) + " of message " + std::to_string(n) + e;
  return m;
}

class LineClient {
 public:
  ~LineClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string connect(const std::string& target, double timeout_s) {
    auto a = engine::SocketAddress::parse(target);
    if (!a) return "bad address " + target;
    fd_ = ::socket(a->family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return std::strerror(errno);
    timeval tv{static_cast<time_t>(timeout_s), static_cast<suseconds_t>((timeout_s - static_cast<time_t>(timeout_s)) * 1e6)};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd_, a->data(), a->size()) < 0) return "connect " + target + ": " + std::strerror(errno);
    return "";
  }
  bool write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      const ssize_t n = ::send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return false;
      off += static_cast<size_t>(n);
    }
    return true;
  }
  // One (possibly multi-line) reply; its code, or -1 on error/timeout.
  int reply(std::string* text = nullptr) {
    for (int lines = 0; lines < 1000; lines++) {
      size_t nl;
      for (int reads = 0; (nl = buf_.find("\r\n")) == std::string::npos; reads++) {
        char tmp[4096];
        const ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
        if (n <= 0 || buf_.size() > 65536 || reads > 10000) return -1;
        buf_.append(tmp, static_cast<size_t>(n));
      }
      const std::string line = buf_.substr(0, nl);
      buf_.erase(0, nl + 2);
      if (text) *text = line;
      if (line.size() < 3) return -1;
      if (line.size() == 3 || line[3] == ' ') return std::atoi(line.substr(0, 3).c_str());
    }
    return -1;
  }
  bool open() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string buf_;
};

std::string run_command(const std::string& cmd, const std::string& input) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) < 0) return std::strerror(errno);
  const pid_t pid = ::fork();
  if (pid < 0) return std::strerror(errno);
  if (pid == 0) {
    ::dup2(pipefd[0], 0);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipefd[0]);
  size_t off = 0;
  while (off < input.size()) {
    const ssize_t n = ::write(pipefd[1], input.data() + off, input.size() - off);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::close(pipefd[1]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "delivery command failed: " + cmd;
  return "";
}

}  // namespace

std::string Deliverer::deliver(uint64_t n, double timeout_s) {
  if (!cmd.empty()) {
    for (const auto& r : recipients) {
      std::string c = cmd;
      for (size_t p; (p = c.find("%u")) != std::string::npos;) c.replace(p, 2, r);
      const std::string err = run_command(c, message_for(n, r, "\n"));
      if (!err.empty()) return err;
    }
    return "";
  }
  const bool lmtp_mode = !lmtp.empty();
  LineClient c;  // one connection per delivery: nothing carried between probes
  if (auto err = c.connect(lmtp_mode ? lmtp : smtp, timeout_s); !err.empty()) return err;
  std::string text;
  if (c.reply(&text) != 220) return "greeting: " + text;
  if (!c.write(std::string(lmtp_mode ? "LHLO" : "EHLO") + " ringmta-bench.test\r\n") || c.reply(&text) != 250)
    return "EHLO/LHLO: " + text;
  if (!c.write("MAIL FROM:<bench@ringmta-bench.test>\r\n") || c.reply(&text) != 250) return "MAIL: " + text;
  for (const auto& r : recipients)
    if (!c.write("RCPT TO:<" + r + ">\r\n") || c.reply(&text) != 250) return "RCPT " + r + ": " + text;
  if (!c.write("DATA\r\n") || c.reply(&text) != 354) return "DATA: " + text;
  // Single-recipient To: for the header; lines never start with '.'.
  if (!c.write(message_for(n, recipients.front(), "\r\n") + ".\r\n")) return "DATA write failed";
  const size_t replies = lmtp_mode ? recipients.size() : 1;  // LMTP: one per recipient (RFC 2033)
  for (size_t i = 0; i < replies; i++)
    if (c.reply(&text) != 250) return "end of DATA: " + text;
  // The clock stops here (the caller reads it); QUIT is not waited for.
  c.write("QUIT\r\n");
  return "";
}

}  // namespace ringmta::bench
