// mail/mime_internal.h — helpers shared by the mail/mime_*.cpp files (not
// part of the public API; see mail/mime.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ringmta::mail {

// A Content-Language value split at commas, comments dropped, tags trimmed.
std::vector<std::string> split_language(std::string_view value);

}  // namespace ringmta::mail
