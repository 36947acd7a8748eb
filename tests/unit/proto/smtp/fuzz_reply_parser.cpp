// tests/unit/proto/smtp/fuzz_reply_parser.cpp — libFuzzer target for
// proto/smtp/reply_parser (built by tests/fuzz/smtp_client.cmake, not by the
// unit CMakeLists). Invariants: no crash; every reply is well-formed (code
// 200..559, 1..max_lines lines, no control characters); and feeding the input
// whole or in pieces of the size given by the first byte yields the same
// replies and the same error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "proto/smtp/reply_parser.h"

using ringmta::smtp::Reply;
using ringmta::smtp::ReplyLimits;
using ringmta::smtp::ReplyParser;

namespace {

std::vector<std::string> run(std::string_view data, size_t piece, const ReplyLimits& lim) {
  ReplyParser p(lim);
  std::vector<std::string> out;
  while (!data.empty()) {
    std::string_view chunk = data.substr(0, piece);
    data.remove_prefix(chunk.size());
    while (true) {
      ReplyParser::Status s = p.feed(chunk);
      if (s == ReplyParser::Status::Error) {
        out.push_back("ERROR " + p.error());
        return out;
      }
      if (s == ReplyParser::Status::NeedMore) break;
      Reply r = p.take();
      if (r.code < 200 || r.code > 559) abort();
      if (r.lines.empty() || r.lines.size() > lim.max_lines) abort();
      for (const auto& l : r.lines) {
        if (l.size() > lim.max_line) abort();
        for (unsigned char c : l)
          if ((c < 0x20 && c != '\t') || c == 0x7f) abort();
      }
      if (!r.enhanced.empty() && r.enhanced[0] != char('0' + r.code / 100)) abort();
      out.push_back(std::to_string(r.code) + "|" + r.enhanced + "|" + r.str());
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  size_t piece = 1 + data[0] % 16;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  ReplyLimits lim;
  lim.max_line = 64 + (data[0] >> 4) * 8;  // small caps so the limits are reached
  lim.max_lines = 4 + (data[0] & 7);
  if (run(in, in.size() + 1, lim) != run(in, piece, lim)) abort();
  return 0;
}
