// daemon/sd_notify.h — the systemd readiness protocol (sd_notify(3)) without
// libsystemd: one datagram with "READY=1" / "STOPPING=1" / "STATUS=..." to
// the AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for the
// abstract namespace). Without $NOTIFY_SOCKET (not run by systemd, or not
// Type=notify) it does nothing. Used by the daemon's main thread only.
#pragma once

#include <string>
#include <string_view>

namespace ringmta::daemon {

// Send `state` (newline-separated assignments). Returns "" on success or when
// there is nothing to notify, else why it failed (for a warning; a failed
// notification never stops ringmta — systemd then times the start out).
std::string sd_notify(std::string_view state);

}  // namespace ringmta::daemon
