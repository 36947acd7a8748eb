// bench/message.h — the messages `ringmta-bench send` transmits.
//
// Either generated (a fixed header block and a body of 76-character lines,
// padded to exactly --size bytes, with a unique Message-ID written per
// message) or read from files (--message-file: one file or every regular file
// of a directory). Everything is prepared once, before the run: line ends
// normalised to CRLF, a final CRLF added, dot-stuffing applied (RFC 5321
// §4.5.2), so sending a message costs no per-message scan.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ringmta::bench {

struct MessageSet {
  // Generated: each message is message_id_line(n) + bodies[0]; sizes[0] counts both.
  bool generated = true;
  std::vector<std::string> bodies;  // ready for the wire, without the final ".\r\n"
  std::vector<uint64_t> sizes;      // message bytes before dot-stuffing (what is reported)

  size_t count() const { return bodies.size(); }
};

// Width of the generated Message-ID header line, CRLF included (fixed, so
// the message size is exact).
inline constexpr size_t kMessageIdLineSize = 60;
// "Message-ID: <%016llx.%08x@ringmta-bench.test>\r\n" for message n of shard s.
void append_message_id_line(std::string& out, uint64_t n, uint32_t shard);

// A generated message of exactly `size` bytes (at least the header block:
// generate_message raises smaller sizes to it). `sender`/`recipient` fill From:/To:.
MessageSet generate_messages(uint64_t size, const std::string& sender, const std::string& recipient);

// Read one file or the regular files of a directory (sorted by name, at most
// 100,000 files, each at most 64 MiB). Empty result and `error` on failure.
MessageSet load_messages(const std::string& path, std::string* error);

// CRLF-normalise, end with CRLF, dot-stuff. Exposed for tests.
std::string prepare_for_wire(const std::string& raw);

}  // namespace ringmta::bench
