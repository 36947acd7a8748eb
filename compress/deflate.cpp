// compress/deflate.cpp — COMPRESS=DEFLATE (RFC 4978) on zlib: raw deflate
// both ways, sync-flushed output, bounded inflate (see deflate.h).
#include "compress/deflate.h"

#include <zlib.h>

#include <algorithm>
#include <climits>

namespace ringmta::compress {

struct DeflateStream::Zlib {
  z_stream in{};
  z_stream out{};
  bool in_init = false, out_init = false;
  // The last inflate() filled its output buffer: zlib may hold more output
  // for the input it already took (a long match), so call it again.
  bool in_full = false;
  ~Zlib() {
    if (in_init) inflateEnd(&in);
    if (out_init) deflateEnd(&out);
  }
};

DeflateStream::DeflateStream(InflateLimits limits, DeflateOptions options)
    : z_(std::make_unique<Zlib>()), limits_(limits), options_(options) {
  // zlib's ranges; raw deflate does not support 8 (zlib would make it 9).
  options_.level = std::clamp(options_.level, 0, 9);
  options_.window_bits = std::clamp(options_.window_bits, 9, 15);
  options_.mem_level = std::clamp(options_.mem_level, 1, 9);
  limits_.max_output_per_call = std::max<size_t>(limits_.max_output_per_call, 1);
}

DeflateStream::~DeflateStream() = default;

bool DeflateStream::fail(std::string why) {
  if (error_.empty()) error_ = std::move(why);
  return false;
}

bool DeflateStream::inflate(std::string_view in, std::string& out) {
  if (!error_.empty()) return false;
  Zlib& z = *z_;
  if (!z.in_init) {
    if (inflateInit2(&z.in, -15) != Z_OK) return fail("inflateInit2 failed");
    z.in_init = true;
  }
  if (!in.empty()) {
    if (ended_) return fail("data after the end of the compressed stream");
    if (pending_pos_ > 0) {  // drop what zlib consumed, keep the rest
      pending_.erase(0, pending_pos_);
      pending_pos_ = 0;
    }
    pending_.append(in);
  }
  size_t budget = limits_.max_output_per_call;
  // Each turn either produces output (bounded by `budget`), consumes input
  // (bounded by pending_), or stops.
  while ((pending() || z.in_full) && budget > 0) {
    const size_t chunk = std::min<size_t>(budget, 64 * 1024);
    const size_t old = out.size();
    out.resize(old + chunk);
    const size_t avail = std::min<size_t>(pending_.size() - pending_pos_, UINT_MAX);
    z.in.next_in = reinterpret_cast<Bytef*>(pending_.data() + pending_pos_);
    z.in.avail_in = static_cast<uInt>(avail);
    z.in.next_out = reinterpret_cast<Bytef*>(out.data() + old);
    z.in.avail_out = static_cast<uInt>(chunk);
    const int rc = ::inflate(&z.in, Z_NO_FLUSH);
    const size_t produced = chunk - z.in.avail_out;
    const size_t consumed = avail - z.in.avail_in;
    out.resize(old + produced);
    pending_pos_ += consumed;
    in_total_ += consumed;
    out_total_ += produced;
    budget -= produced;
    z.in_full = z.in.avail_out == 0;
    if (rc == Z_STREAM_END) {
      ended_ = true;
      z.in_full = false;
      if (pending()) return fail("data after the end of the compressed stream");
      break;
    }
    if (rc == Z_NEED_DICT) return fail("compressed stream asks for a preset dictionary");
    if (rc == Z_DATA_ERROR) return fail(std::string("corrupt compressed stream: ") + (z.in.msg ? z.in.msg : "?"));
    if (rc == Z_MEM_ERROR) return fail("out of memory inflating");
    if (out_total_ > limits_.ratio_grace && limits_.max_ratio > 0 &&
        out_total_ / std::max<uint64_t>(in_total_, 1) > limits_.max_ratio)
      return fail("compression bomb: more than " + std::to_string(limits_.max_ratio) +
                  " times expansion");
    if (rc == Z_BUF_ERROR || (produced == 0 && consumed == 0)) {
      z.in_full = false;  // nothing more without new input
      break;
    }
  }
  return true;
}

bool DeflateStream::deflate(std::string_view in, std::string& out) {
  // Independent of inflate's state: after a corrupt client stream the server
  // still sends its BYE compressed.
  if (deflate_failed_) return false;
  auto failed = [&](const char* why) {
    deflate_failed_ = true;
    return fail(why);
  };
  Zlib& z = *z_;
  if (!z.out_init) {
    if (deflateInit2(&z.out, options_.level, Z_DEFLATED, -options_.window_bits, options_.mem_level,
                     Z_DEFAULT_STRATEGY) != Z_OK)
      return failed("deflateInit2 failed");
    z.out_init = true;
  }
  din_total_ += in.size();
  // Input in pieces zlib's 32-bit counters can take; only the last flushes.
  size_t pos = 0;
  do {  // runs at least once (an empty `in` flushes nothing new)
    const size_t piece = std::min<size_t>(in.size() - pos, 1u << 30);
    const bool last = pos + piece == in.size();
    z.out.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
    z.out.avail_in = static_cast<uInt>(piece);
    pos += piece;
    // Until zlib leaves room in the buffer, it has more to write (zlib.h's
    // contract for Z_SYNC_FLUSH); each turn writes or the call fails.
    do {
      const size_t chunk = std::clamp<size_t>(piece / 2 + 64, 4096, 256 * 1024);
      const size_t old = out.size();
      out.resize(old + chunk);
      z.out.next_out = reinterpret_cast<Bytef*>(out.data() + old);
      z.out.avail_out = static_cast<uInt>(chunk);
      const int rc = ::deflate(&z.out, last ? Z_SYNC_FLUSH : Z_NO_FLUSH);
      const size_t produced = chunk - z.out.avail_out;
      out.resize(old + produced);
      dout_total_ += produced;
      if (rc == Z_STREAM_ERROR) return failed("deflate failed");
      if (rc == Z_BUF_ERROR) break;  // no progress possible: all done
    } while (z.out.avail_out == 0);
  } while (pos < in.size());
  return true;
}

}  // namespace ringmta::compress
