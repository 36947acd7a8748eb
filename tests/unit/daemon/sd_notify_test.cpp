// tests/unit/daemon/sd_notify_test.cpp — relay/sd_notify: the datagram
// reaches a socket named by $NOTIFY_SOCKET (path and abstract), nothing
// happens without it, and a bad value is an error, not a crash.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/sd_notify.h"

namespace ringmta::daemon {
namespace {

// A bound datagram socket for `name` ("/path" or "@abstract"); -1 on failure.
int listen_at(const std::string& name) {
  int fd = ::socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::memcpy(a.sun_path, name.data(), name.size());
  if (name[0] == '@') a.sun_path[0] = '\0';
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{2, 0};  // bounded wait in the test
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

std::string receive(int fd) {
  char buf[256];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

TEST(SdNotify, NoSocketNoop) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(sd_notify("READY=1"), "");
}

TEST(SdNotify, PathSocket) {
  const std::string path = "/tmp/ringmta-notify-" + std::to_string(::getpid());
  ::unlink(path.c_str());
  int fd = listen_at(path);
  ASSERT_GE(fd, 0);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_EQ(sd_notify("READY=1\nSTATUS=accepting mail"), "");
  EXPECT_EQ(receive(fd), "READY=1\nSTATUS=accepting mail");
  EXPECT_EQ(sd_notify("STOPPING=1"), "");
  EXPECT_EQ(receive(fd), "STOPPING=1");
  ::close(fd);
  ::unlink(path.c_str());
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, AbstractSocket) {
  const std::string name = "@ringmta-notify-test-" + std::to_string(::getpid());
  int fd = listen_at(name);
  ASSERT_GE(fd, 0);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_EQ(sd_notify("READY=1"), "");
  EXPECT_EQ(receive(fd), "READY=1");
  ::close(fd);
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SdNotify, BadValuesAreErrors) {
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_NE(sd_notify("READY=1"), "");
  ::setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
  EXPECT_NE(sd_notify("READY=1"), "");
  ::setenv("NOTIFY_SOCKET", ("/" + std::string(200, 'x')).c_str(), 1);
  EXPECT_NE(sd_notify("READY=1"), "");
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace ringmta::daemon
