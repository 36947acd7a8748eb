// compress/deflate.h — the two directions of an IMAP COMPRESS=DEFLATE
// stream (RFC 4978) over zlib: raw deflate (RFC 1951, no zlib or gzip
// wrapper: windowBits -15), one object per connection.
//
// - deflate(): what the server sends. Each call ends with Z_SYNC_FLUSH so
//   every response reaches the client whole at once (RFC 4978 §4: a client
//   waiting for a tagged response must not wait for more data), and the
//   history carries over between calls, as the RFC wants.
// - inflate(): what the client sends. A compression bomb must not turn a few
//   kilobytes into gigabytes in one call, so output is bounded twice:
//     * per call: at most InflateLimits::max_output_per_call bytes are
//       appended; the rest of the input waits inside the stream (pending())
//       and the host calls inflate({}) again once it has consumed the output
//       — memory stays bounded whatever the ratio;
//     * overall: once more than `ratio_grace` bytes came out, output larger
//       than `max_ratio` times the input so far is an error ("compression
//       bomb"), so a bomb ends the connection instead of feeding the command
//       parser garbage for minutes. Ordinary IMAP traffic compresses ~3-10:1.
//   A corrupt stream, a preset-dictionary request or data after the end of
//   the deflate stream are errors too; after an error the stream stays failed.
//
// Memory: inflate keeps a 32 KiB window (the client may use the largest
// one). The deflate side costs (1 << (window_bits + 2)) + (1 << (mem_level +
// 9)) bytes: ~256 KiB with the zlib defaults (15, 8), ~32 KiB with (12, 5);
// both zlib states are allocated on first use only.
//
// Not thread-safe (one connection, one shard thread). Pure CPU work: no I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace ringmta::compress {

struct InflateLimits {
  size_t max_output_per_call = 256 * 1024;  // bytes appended by one inflate() call
  uint64_t max_ratio = 250;                 // output/input above this is a bomb ...
  uint64_t ratio_grace = 4 * 1024 * 1024;   // ... once this much has come out
};

struct DeflateOptions {
  int level = 6;          // zlib level 0..9 (1: fastest; 6: zlib's default)
  int window_bits = 15;   // 9..15: the history the server keeps (memory, see above)
  int mem_level = 8;      // 1..9: zlib's internal state size
};

class DeflateStream {
 public:
  explicit DeflateStream(InflateLimits limits = {}, DeflateOptions options = {});
  ~DeflateStream();
  DeflateStream(const DeflateStream&) = delete;
  DeflateStream& operator=(const DeflateStream&) = delete;

  // Inflates `in` (client bytes as they arrive, any split) and appends the
  // result to `out`, at most max_output_per_call bytes. Returns false on an
  // error (error() says what); `out` may then hold what came before it.
  bool inflate(std::string_view in, std::string& out);
  // Input that inflate() has not consumed yet (waiting on the output bound):
  // call inflate({}, out) again to continue. The host stops reading from the
  // socket meanwhile (that input would wait here too).
  bool pending() const { return pending_pos_ < pending_.size(); }

  // Compresses `in`, appends it to `out` and flushes (Z_SYNC_FLUSH). Every
  // call flushes, so an empty `in` appends nothing. Returns false only when
  // zlib fails (out of memory).
  bool deflate(std::string_view in, std::string& out);

  // What failed first (inflate or deflate). A failed inflate() keeps failing;
  // deflate() still works after it (to send BYE), and vice versa.
  const std::string& error() const { return error_; }
  // Totals, for metrics and the ratio check.
  uint64_t inflated_in() const { return in_total_; }
  uint64_t inflated_out() const { return out_total_; }
  uint64_t deflated_in() const { return din_total_; }
  uint64_t deflated_out() const { return dout_total_; }

 private:
  struct Zlib;
  std::unique_ptr<Zlib> z_;
  InflateLimits limits_;
  DeflateOptions options_;
  std::string pending_;      // input not yet consumed by inflate
  size_t pending_pos_ = 0;
  std::string error_;
  bool ended_ = false;       // the client's deflate stream ended (Z_STREAM_END)
  bool deflate_failed_ = false;
  uint64_t in_total_ = 0, out_total_ = 0, din_total_ = 0, dout_total_ = 0;
  bool fail(std::string why);
};

}  // namespace ringmta::compress
