// telemetry/log_json.h — log.format = "json": turns one log line (as the text
// format would print it) into one JSON object, so the Postfix-like text
// lines stay the single source and both formats always say the same.
//
// Object members: "ts" (UTC, ISO 8601 with microseconds), "level", then for
// event lines "event" and "queue_id" (when the line starts with one), the
// line's key=value fields as string members (angle brackets around
// addresses removed; Postfix's trailing "(reply)" after status= becomes
// "reply"), and always "msg", the whole text line. Events recognised:
//   delivery      "ID: to=<..>, relay=.., delay=.., dsn=.., status=.. (..)"
//   accept        "ID: accepted client=.., from=<..>, size=.., ..."
//   bounce / delay_notice / success_notice
//                 "ID: sender non-delivery|delay|delivery status notification: NID"
//   removed       "ID: removed"
//   commit_failed "ID: queue write failed ..."
//   connect       "connect client=[ip]:port, ..."
//   proxy_refused "PROXY protocol: ... refused ..."
//   tls / tls_failed   "session N [ip]:port: TLS ..."
//   auth / auth_failed "authenticated: ...", "authentication failed|refused: ..."
//   connection_refused "connection from [ip] refused: ..."
// Output is valid UTF-8 whatever the input (bad bytes become U+FFFD).
#pragma once

#include <string>
#include <string_view>

namespace ringmta::telemetry {

// One JSON object, no trailing newline.
std::string json_log_line(std::string_view ts, std::string_view level, std::string_view msg);

}  // namespace ringmta::telemetry
