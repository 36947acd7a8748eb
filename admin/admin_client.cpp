// admin/admin_client.cpp — see admin_client.h.
#include "admin/admin_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

namespace ringmta::admin {

namespace {
constexpr size_t kMaxResponse = 256u << 20;  // a `list` of a very large queue
}

base::Result<AdminEndpoint> admin_endpoint(const std::string& listen, const std::string& data_dir) {
  AdminEndpoint ep;
  if (listen == "off") return ep;
  if (listen.empty() || listen.front() == '/' || listen.rfind("unix:", 0) == 0) {
    ep.kind = AdminEndpoint::Kind::Unix;
    ep.path = listen.empty() ? (std::filesystem::path(data_dir) / "admin.sock").string()
              : listen.front() == '/' ? listen
                                      : listen.substr(5);
    if (ep.path.empty() || ep.path.size() >= sizeof(sockaddr_un{}.sun_path)) {
      return base::Error("admin socket path '" + ep.path + "' is empty or longer than " +
                         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    }
    ep.text = "unix:" + ep.path;
    return ep;
  }
  auto addr = engine::SocketAddress::parse(listen);
  if (!addr || addr->port() == 0) {
    return base::Error("admin.listen '" + listen + "': expected \"\" (admin.sock in data_dir), a socket path, "
                       "\"ip:port\" on a loopback address, or \"off\"");
  }
  ep.kind = AdminEndpoint::Kind::Tcp;
  ep.address = *addr;
  ep.text = addr->to_string();
  return ep;
}

AdminClient::~AdminClient() {
  if (fd_ >= 0) ::close(fd_);
}

AdminClient::ConnectResult AdminClient::connect(const AdminEndpoint& ep, std::string* error) {
  if (ep.kind == AdminEndpoint::Kind::Off) {
    *error = "the admin API is off (admin.listen = \"off\")";
    return ConnectResult::Error;
  }
  const bool unix_socket = ep.kind == AdminEndpoint::Kind::Unix;
  fd_ = ::socket(unix_socket ? AF_UNIX : ep.address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return ConnectResult::Error;
  }
  int rc;
  if (unix_socket) {
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, ep.path.c_str(), ep.path.size() + 1);
    rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&sun), sizeof sun);
  } else {
    rc = ::connect(fd_, ep.address.data(), ep.address.size());
  }
  if (rc != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    *error = "cannot connect to the admin API at " + ep.text + ": " + std::strerror(e);
    return e == ENOENT || e == ECONNREFUSED ? ConnectResult::NotRunning : ConnectResult::Error;
  }
  return ConnectResult::Ok;
}

base::Result<base::json::Value> AdminClient::call(const base::json::Value& request, int timeout_seconds) {
  if (fd_ < 0) {
    return base::Error("not connected");
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  auto wait = [&](short events) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, events, 0};
      int n = ::poll(&p, 1, static_cast<int>(left.count()));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
  };
  const std::string line = base::json::dump(request) + "\n";
  for (size_t off = 0; off < line.size();) {
    if (!wait(POLLOUT)) {
      return base::Error("timed out sending the request");
    }
    ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno != EINTR && errno != EAGAIN) {
      return base::Error(std::string("send: ") + std::strerror(errno));
    }
    if (n > 0) off += static_cast<size_t>(n);
  }
  size_t nl;
  while ((nl = buffer_.find('\n')) == std::string::npos) {
    if (buffer_.size() > kMaxResponse) {
      return base::Error("response too large");
    }
    if (!wait(POLLIN)) {
      return base::Error("no answer from the daemon within " + std::to_string(timeout_seconds) + "s");
    }
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n == 0) {
      return base::Error("the daemon closed the connection");
    }
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) continue;
      return base::Error(std::string("recv: ") + std::strerror(errno));
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
  std::string response = buffer_.substr(0, nl);
  buffer_.erase(0, nl + 1);
  auto v = base::json::parse(response);
  if (!v || !v->is_object()) {
    return base::Error("bad response from the daemon: " + (v ? std::string("not an object") : v.error()));
  }
  return std::move(v).value();
}

}  // namespace ringmta::admin
