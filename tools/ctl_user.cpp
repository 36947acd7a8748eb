// tools/ctl_user.cpp — see ctl_user.h.
#include "tools/ctl_user.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "auth/auth_users.h"

namespace ringmta::tools {
namespace {

void err(const std::string& msg) { std::fprintf(stderr, "ringmtactl: %s\n", msg.c_str()); }

// One line from the terminal with echo off (the prompt goes to stderr).
std::optional<std::string> read_hidden(const char* prompt) {
  std::fputs(prompt, stderr);
  std::fflush(stderr);
  termios old{};
  const bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  std::string line;
  const bool ok = static_cast<bool>(std::getline(std::cin, line));
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fputs("\n", stderr);
  }
  if (!ok) return std::nullopt;
  return line;
}

std::optional<std::string> read_password() {
  if (isatty(STDIN_FILENO)) {
    auto first = read_hidden("New password: ");
    if (!first) return std::nullopt;
    auto second = read_hidden("Retype new password: ");
    if (!second || *first != *second) {
      err("the passwords do not match");
      return std::nullopt;
    }
    return first;
  }
  std::string line;
  if (!std::getline(std::cin, line)) {
    err("no password on standard input (one line expected)");
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

bool read_file(const std::string& path, std::string& text, bool& exists) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    exists = false;
    if (errno == ENOENT) return true;
    err(path + ": " + std::strerror(errno));
    return false;
  }
  exists = true;
  char buf[8192];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  const bool ok = !std::ferror(f);
  std::fclose(f);
  if (!ok) err(path + ": read error");
  return ok;
}

// Write `text` next to `path`, fsync it, rename it over `path`, fsync the
// directory: readers (the daemon) see the old file or the new one, never half.
bool write_atomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  std::string tmpl = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  int fd = mkstemp(tmpl.data());
  if (fd < 0) {
    err("cannot create a temporary file in " + dir.string() + ": " + std::strerror(errno));
    return false;
  }
  struct stat st {};
  // Keep the file's mode (and owner, when we may); a new file is 0640: it
  // holds password hashes.
  if (::stat(path.c_str(), &st) == 0) {
    fchmod(fd, st.st_mode & 07777);
    if (fchown(fd, st.st_uid, st.st_gid) != 0) { /* not root: keep ours */ }
  } else {
    fchmod(fd, 0640);
  }
  bool ok = true;
  for (size_t off = 0; ok && off < text.size();) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ok = false;
    else off += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok || ::rename(tmpl.c_str(), path.c_str()) != 0) {
    err("cannot write " + path + ": " + std::strerror(ok ? errno : saved));
    ::unlink(tmpl.c_str());
    return false;
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

int run_user_command(UserAction action, const std::string& name, const std::string& users_file) {
  if (auto why = auth::user_name_problem(name); !why.empty()) {
    err("invalid user name '" + name + "': " + why);
    return 2;
  }
  std::string text;
  bool exists = false;
  if (!read_file(users_file, text, exists)) return 1;
  const bool present = exists && auth::has_user(text, name);
  if (action == UserAction::Add && present) {
    err("user '" + name + "' already exists in " + users_file + " (use 'user passwd' to change its password)");
    return 1;
  }
  if (action != UserAction::Add && !present) {
    err(exists ? "no user '" + name + "' in " + users_file : users_file + " does not exist");
    return 1;
  }
  if (action == UserAction::Del) {
    bool found = false;
    std::string out = auth::remove_user_line(text, name, &found);
    if (!write_atomically(users_file, out)) return 1;
    std::fprintf(stderr, "ringmtactl: user '%s' removed from %s\n", name.c_str(), users_file.c_str());
    return 0;
  }
  auto password = read_password();
  if (!password) return 2;
  if (password->empty()) {
    err("the password is empty");
    return 2;
  }
  auto hash = auth::hash_password(*password);
  std::fill(password->begin(), password->end(), '\0');
  if (!hash) {
    err(hash.error());
    return 1;
  }
  if (!text.empty() && text.back() != '\n') text += '\n';
  if (!write_atomically(users_file, auth::set_user_line(text, name, *hash))) return 1;
  std::fprintf(stderr, "ringmtactl: %s user '%s' in %s\n", action == UserAction::Add ? "added" : "new password for",
               name.c_str(), users_file.c_str());
  return 0;
}

}  // namespace ringmta::tools
