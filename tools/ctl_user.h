// tools/ctl_user.h — `ringmtactl user add|passwd|del NAME`: edit the SMTP AUTH
// users file (auth/auth_users.h) in place, atomically (temp file + rename),
// so the running daemon picks the change up on its next AUTH.
#pragma once

#include <string>

namespace ringmta::tools {

enum class UserAction { Add, Passwd, Del };

// Runs the command; messages go to stderr. Exit code: 0 done, 1 refused
// (unknown or existing user, unreadable/unwritable file), 2 bad input.
// The password (add/passwd) is read from the terminal without echo, twice,
// when stdin is a terminal; else as one line from stdin.
int run_user_command(UserAction action, const std::string& name, const std::string& users_file);

}  // namespace ringmta::tools
