// admin/admin_server.cpp — the admin API thread: sockets, request dispatch
// and the read-only commands. The changes (flush, hold, ...) and destination
// suspension are in admin_changes.cpp.
#include "admin/admin_server.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

#include "admin/admin_client.h"
#include "base/clock.h"
#include "relay/delivery_agent.h"
#include "relay/scheduler.h"
#include "relay/shard.h"
#include "relay/shard_ask.h"

namespace ringmta::admin {

// The relay types this file wires together.
using relay::DownDestinations;

namespace {

// Limits against broken or hostile clients (README, "Queue administration").
constexpr size_t kMaxRequestBytes = 8u << 20;  // one request line; 100,000 queue IDs fit
constexpr size_t kTokenFirstBytes = 4096;      // past this, a line must begin with its token
constexpr int kIdleTimeoutMs = 60'000;         // a client that says nothing is dropped
constexpr int kRequestTimeoutMs = 60'000;      // a request's first byte to its newline
constexpr size_t kMaxClients = 8;              // served at once; more are told to retry
constexpr int kLingerMs = 2'000;               // reading what a refused client still sends
constexpr size_t kLingerBytes = 16u << 20;

// Compare without an early exit, so the time taken says nothing about the token.
bool same_token(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

base::json::Value error_response(const std::string& message) {
  base::json::Value v = base::json::Value::object();
  v.set("ok", false);
  v.set("error", message);
  return v;
}

// After refusing a request: stop sending, and read (and drop) what the client
// still sends for a short while before the close, so the refusal is not lost
// to a TCP reset for unread data. Bounded in time and bytes.
void linger_close(int fd, int wake_fd) {
  ::shutdown(fd, SHUT_WR);
  const int64_t deadline = relay::steady_ms() + kLingerMs;
  size_t dropped = 0;
  char buf[65536];
  while (dropped < kLingerBytes) {
    const int64_t left = deadline - relay::steady_ms();
    if (left <= 0) break;
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd, POLLIN, 0}};
    if (::poll(fds, 2, static_cast<int>(left)) <= 0 || !(fds[0].revents & (POLLIN | POLLHUP))) break;
    const ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) break;
    dropped += static_cast<size_t>(got);
  }
}

bool send_all(int fd, const std::string& data) {
  for (size_t off = 0; off < data.size();) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

AdminServer::AdminServer(std::shared_ptr<const config::Config> config, Hooks hooks)
    : config_(std::move(config)), hooks_(std::move(hooks)) {}

AdminServer::~AdminServer() { stop(); }

bool AdminServer::start(std::string* error) {
  auto ep = admin_endpoint(config_->admin.listen, config_->server.data_dir);
  if (!ep) {
    *error = ep.error();
    return false;
  }
  if (ep->kind == AdminEndpoint::Kind::Off) return true;
  const bool unix_socket = ep->kind == AdminEndpoint::Kind::Unix;
  listen_fd_ = ::socket(unix_socket ? AF_UNIX : ep->address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return false;
  }
  int rc;
  if (unix_socket) {
    // The queue's lock already proved no other daemon uses this data_dir,
    // so a socket file left there is from a previous run.
    ::unlink(ep->path.c_str());
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path, ep->path.c_str(), ep->path.size() + 1);
    rc = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&sun), sizeof sun);
    if (rc == 0) rc = ::chmod(ep->path.c_str(), 0600);
    if (rc == 0) unix_path_ = ep->path;
  } else {
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    rc = ::bind(listen_fd_, ep->address.data(), ep->address.size());
  }
  if (rc == 0) rc = ::listen(listen_fd_, 16);
  if (rc != 0) {
    *error = "admin API on " + ep->text + ": " + std::strerror(errno);
    ::close(listen_fd_);
    listen_fd_ = -1;
    return false;
  }
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) {
    *error = std::string("eventfd: ") + std::strerror(errno);
    return false;
  }
  where_ = ep->text;
  thread_ = std::thread([this] { run(); });
  return true;
}

void AdminServer::stop() {
  stopping_.store(true);
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);  // never read: wakes every poll for good
  }
  if (thread_.joinable()) thread_.join();
  reap_clients(/*all=*/true);
  if (listen_fd_ >= 0) ::close(listen_fd_);
  if (wake_fd_ >= 0) ::close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
  if (!unix_path_.empty()) ::unlink(unix_path_.c_str());
  unix_path_.clear();
}

// Join the client threads that ended (all of them with all = true; they
// notice stopping_ through wake_fd_).
void AdminServer::reap_clients(bool all) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    if (all || it->done.load()) {
      if (it->thread.joinable()) it->thread.join();
      it = clients_.erase(it);
    } else {
      ++it;
    }
  }
}

void AdminServer::run() {
  pthread_setname_np(pthread_self(), "ringmta-admin");
  while (!stopping_.load()) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, -1);
    if (n < 0 && errno != EINTR) {
      spdlog::error("admin API: poll: {}", std::strerror(errno));
      return;
    }
    if (stopping_.load()) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (!unix_path_.empty()) {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || (cred.uid != ::geteuid() && cred.uid != 0)) {
        spdlog::warn("admin API: refused a client with uid {} (only uid {} and root)", cred.uid, ::geteuid());
        ::close(fd);
        continue;
      }
    }
    reap_clients(/*all=*/false);
    if (clients_.size() >= kMaxClients) {
      spdlog::warn("admin API: {} clients already connected; refused another", kMaxClients);
      timeval tv{1, 0};  // the accept thread must not wait on this client
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      send_all(fd, base::json::dump(error_response("too many admin clients at once (" + std::to_string(kMaxClients) +
                                             "); try again")) + "\n");
      ::close(fd);
      continue;
    }
    Client& c = clients_.emplace_back();
    c.thread = std::thread([this, fd, &c] {
      pthread_setname_np(pthread_self(), "ringmta-adminc");
      serve(fd);
      ::close(fd);
      c.done.store(true);
    });
  }
}

std::string AdminServer::check_partial_request(std::string_view partial) const {
  const std::string& token = config_->admin.token;
  if (!token.empty()) {
    // ringmtactl writes the token first: {"token":"...","cmd":...}. JSON
    // whitespace is allowed around the parts; the token must be written as
    // base::json::quote writes it (it is printable ASCII: as it is, or \" and \\).
    const std::string quoted = base::json::quote(token);
    if (partial.size() > std::max(kTokenFirstBytes, quoted.size() + 64)) {
      size_t i = 0;
      auto ws = [&] {
        while (i < partial.size() && (partial[i] == ' ' || partial[i] == '\t' || partial[i] == '\r')) ++i;
      };
      auto take = [&](std::string_view word) {
        ws();
        if (partial.substr(i, word.size()) != word) return false;
        i += word.size();
        return true;
      };
      const bool shaped = take("{") && take("\"token\"") && take(":");
      ws();
      if (!shaped || !same_token(partial.substr(i, quoted.size()), quoted)) {
        return "permission denied: admin.token missing or wrong (a request longer than " +
               std::to_string(kTokenFirstBytes) + " bytes must begin with {\"token\":...})";
      }
    }
  }
  if (partial.size() > kMaxRequestBytes)
    return "request too large: an admin request is one line of JSON of at most " + std::to_string(kMaxRequestBytes) +
           " bytes";
  return "";
}

// One client, on its own thread. Reads a request line, answers it, and so on
// until the client closes, idles, breaks a limit or the server stops.
void AdminServer::serve(int fd) {
  std::string buffer;
  timeval tv{30, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int64_t line_started = 0;  // when the partial line in buffer began (0: none)
  auto refuse = [&](const std::string& why) {
    spdlog::warn("admin API: request refused: {}", why);
    send_all(fd, base::json::dump(error_response(why)) + "\n");
    linger_close(fd, wake_fd_);
  };
  while (!stopping_.load()) {
    size_t nl;
    bool consumed = false;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      consumed = true;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      // A whole line that arrived at once gets the same checks as a partial one.
      if (std::string why = check_partial_request(line); !why.empty()) return refuse(why);
      if (!send_all(fd, handle_line(line) + "\n")) return;
    }
    int timeout = kIdleTimeoutMs;
    if (buffer.empty()) {
      line_started = 0;
    } else {
      if (std::string why = check_partial_request(buffer); !why.empty()) return refuse(why);
      if (line_started == 0 || consumed) line_started = relay::steady_ms();
      const int64_t left = line_started + kRequestTimeoutMs - relay::steady_ms();
      if (left <= 0)
        return refuse("request not complete within " + std::to_string(kRequestTimeoutMs / 1000) + " s");
      timeout = static_cast<int>(left);
    }
    pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && !buffer.empty()) continue;  // the request deadline: refused above
    if (n <= 0 || !(fds[0].revents & (POLLIN | POLLHUP))) return;
    char buf[65536];
    ssize_t got = ::recv(fd, buf, sizeof buf, 0);
    if (got <= 0) return;
    buffer.append(buf, static_cast<size_t>(got));
  }
}

std::string AdminServer::handle_line(std::string_view line) {
  auto v = base::json::parse(line);
  if (!v) return base::json::dump(error_response("bad JSON: " + v.error()));
  auto req = admin::parse_request(*v);
  // The token is checked before anything else is said about the request.
  const std::string& token = config_->admin.token;
  if (!token.empty()) {
    const base::json::Value* t = v->is_object() ? v->get("token") : nullptr;
    if (!t || !t->is_string() || !same_token(t->as_string(), token)) {
      spdlog::warn("admin API: request without the right admin.token refused");
      return base::json::dump(error_response("permission denied: admin.token missing or wrong"));
    }
  }
  if (admin::is_mailbox_request(*v)) {  // the mail store's commands (admin_mailbox.cpp)
    std::string why;
    auto mreq = admin::parse_mailbox_request(*v, &why);
    if (!mreq) return base::json::dump(error_response(why));
    std::lock_guard<std::mutex> one_change(changes_mu_);
    return base::json::dump(do_mailbox(*mreq));
  }
  if (!req) return base::json::dump(error_response(req.error()));
  // Changes (and reload) one at a time, whichever client sends them.
  std::unique_lock<std::mutex> one_change;
  if (admin::mutates(req->command) || req->command == admin::Command::Reload)
    one_change = std::unique_lock<std::mutex>(changes_mu_);
  base::json::Value out = dispatch(*req);
  if (admin::mutates(req->command)) {
    const base::json::Value* ok = out.get("ok");
    spdlog::info("admin API: {} {}", admin::to_string(req->command),
                 ok && ok->as_bool() ? "done" : "failed");
  }
  return base::json::dump(out);
}

base::json::Value AdminServer::dispatch(const admin::Request& req) {
  using admin::Command;
  switch (req.command) {
    case Command::Ping: {
      base::json::Value v = base::json::Value::object();
      v.set("ok", true);
      v.set("shards", static_cast<uint64_t>(hooks_.peers ? hooks_.peers->size() : 0));
      v.set("data_dir", config_->server.data_dir);
      return v;
    }
    case Command::Summary: return do_summary();
    case Command::List: return do_list(req.selector);
    case Command::Show: return do_show(req.id);
    case Command::Flush:
    case Command::Delete:
    case Command::Hold:
    case Command::Release:
    case Command::Bounce: return do_change(req);
    case Command::Suspend: return do_suspend(req.domain, true);
    case Command::Resume: return do_suspend(req.domain, false);
    case Command::Destinations: {
      base::json::Value v = base::json::Value::object();
      v.set("ok", true);
      add_destination_state(v);
      return v;
    }
    case Command::Reload: {
      std::string error = hooks_.reload ? hooks_.reload() : "reload is not available";
      if (!error.empty()) return error_response("reload failed: " + error);
      base::json::Value v = base::json::Value::object();
      v.set("ok", true);
      return v;
    }
  }
  return error_response("unknown command");
}

std::set<std::string> AdminServer::in_flight() {
  std::set<std::string> out;
  if (!hooks_.peers) return out;
  auto answers = relay::ask_shards(*hooks_.peers, [](ShardContext& ctx) {
    return ctx.scheduler ? ctx.scheduler->in_flight() : std::vector<std::string>{};
  });
  for (auto& answer : answers) {
    if (!answer) continue;  // that shard's in-flight messages show as queued
    for (auto& id : *answer) out.insert(std::move(id));
  }
  return out;
}

void AdminServer::add_destination_state(base::json::Value& v) {
  base::json::Value list = base::json::Value::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& d : suspended_) list.push(d);
  }
  v.set("suspended", std::move(list));
  v.set("down", down_destinations());
  // [delivery.rate] (relay/destination_rate.h): each rule summed over the
  // shards (each counts the destinations it owns).
  std::map<std::string, relay::DestinationRates::Live> rates;
  std::vector<std::string> order;
  if (hooks_.peers) {
    for (auto& answer : relay::ask_shards(*hooks_.peers, [](ShardContext& ctx) {
           return ctx.agent ? ctx.agent->rate_list() : std::vector<relay::DestinationRates::Live>{};
         })) {
      if (!answer) continue;
      for (const auto& l : *answer) {
        auto [it, fresh] = rates.emplace(l.pattern, l);
        if (fresh) {
          order.push_back(l.pattern);
          continue;
        }
        it->second.messages += l.messages;
        it->second.connections += l.connections;
        it->second.limited += l.limited;
        it->second.wait_ms = std::max(it->second.wait_ms, l.wait_ms);
      }
    }
  }
  base::json::Value rate_list = base::json::Value::array();
  for (const auto& pattern : order) {
    const auto& l = rates[pattern];
    base::json::Value o = base::json::Value::object();
    o.set("pattern", l.pattern);
    o.set("messages_per_minute", static_cast<int64_t>(l.messages_per_minute));
    o.set("messages_per_hour", static_cast<int64_t>(l.messages_per_hour));
    o.set("connections_per_minute", static_cast<int64_t>(l.connections_per_minute));
    o.set("messages", static_cast<int64_t>(l.messages));
    o.set("connections", static_cast<int64_t>(l.connections));
    o.set("limited", static_cast<int64_t>(l.limited));
    o.set("seconds_to_next", (l.wait_ms + 999) / 1000);
    rate_list.push(std::move(o));
  }
  v.set("rates", std::move(rate_list));
}

base::json::Value AdminServer::down_destinations() {
  std::vector<std::vector<relay::DownDestinations::Live>> per_shard;
  if (hooks_.peers) {
    for (auto& answer : relay::ask_shards(*hooks_.peers, [](ShardContext& ctx) {
           return ctx.agent ? ctx.agent->down_list() : std::vector<relay::DownDestinations::Live>{};
         })) {
      if (answer) per_shard.push_back(std::move(*answer));  // a busy shard's entries are left out
    }
  }
  base::json::Value list = base::json::Value::array();
  for (const auto& d : DownDestinations::merge(per_shard)) {
    base::json::Value o = base::json::Value::object();
    o.set("destination", d.key);
    o.set("seconds_left", static_cast<int64_t>(d.left.count()));
    o.set("error", d.error);
    o.set("host", d.host);
    list.push(std::move(o));
  }
  return list;
}

base::json::Value AdminServer::do_summary() {
  const auto flying = in_flight();
  const int64_t now = base::unix_ms();
  admin::SummaryBuilder builder;
  auto st = hooks_.queue->scan([&](const queue::Envelope& e) {
    builder.add(e, admin::message_state(e, now, flying.count(e.id) > 0));
    return !stopping_.load();
  });
  if (!st.ok()) return error_response("queue scan failed: " + st.message);
  base::json::Value v = base::json::Value::object();
  v.set("ok", true);
  v.set("total", builder.total_messages());
  v.set("destinations", admin::summary_json(builder.finish(), now));
  add_destination_state(v);
  return v;
}

base::json::Value AdminServer::do_list(const admin::Selector& sel) {
  const auto flying = in_flight();
  const int64_t now = base::unix_ms();
  base::json::Value messages = base::json::Value::array();
  auto add = [&](const queue::Envelope& e) {
    const auto state = admin::message_state(e, now, flying.count(e.id) > 0);
    if (admin::matches(sel, e, state)) messages.push(admin::list_entry_json(e, state));
  };
  if (!sel.ids.empty()) {
    for (const auto& id : sel.ids) {
      queue::Envelope e;
      if (hooks_.queue->read_envelope(id, e).ok()) add(e);
    }
  } else {
    auto st = hooks_.queue->scan([&](const queue::Envelope& e) {
      add(e);
      return !stopping_.load();
    });
    if (!st.ok()) return error_response("queue scan failed: " + st.message);
  }
  base::json::Value v = base::json::Value::object();
  v.set("ok", true);
  v.set("messages", std::move(messages));
  return v;
}

base::json::Value AdminServer::do_show(const std::string& id) {
  queue::Envelope e;
  std::string body;
  auto st = hooks_.queue->read_envelope(id, e);
  if (st.ok()) st = hooks_.queue->read_body(id, body);
  if (st.code == queue::Status::Code::NotFound) return error_response("no message with queue ID " + id);
  if (!st.ok()) return error_response("cannot read " + id + ": " + st.message);
  const auto flying = in_flight();
  base::json::Value v = base::json::Value::object();
  v.set("ok", true);
  v.set("message", admin::show_json(e, admin::message_state(e, base::unix_ms(), flying.count(id) > 0),
                                    admin::header_section(body)));
  return v;
}

}  // namespace ringmta::admin
