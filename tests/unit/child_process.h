// tests/unit/child_process.h — a helper process for unit tests (dnsmasq, a
// fake DNS server, smtp-sink), stopped by its own PID only and reaped when
// the object goes away.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace ringmta::testing {

class ChildProcess {
 public:
  // argv[0] is a path (execv, no PATH search). stdin is /dev/null; stdout
  // too when `quiet_stdout` (stderr always stays, for diagnostics).
  explicit ChildProcess(std::vector<std::string> argv, bool quiet_stdout = false) {
    pid_ = fork();
    if (pid_ == 0) {
      int devnull = open("/dev/null", O_RDWR);
      dup2(devnull, 0);
      if (quiet_stdout) dup2(devnull, 1);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
  }
  ~ChildProcess() { stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // SIGTERM, up to 5 s to exit, then SIGKILL; reaped either way.
  void stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 50; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

}  // namespace ringmta::testing
