// tests/fuzz/imap_command_fuzz.cpp — libFuzzer target for the IMAP command
// assembler and parser (proto/imap). Invariants on every input: no crash or
// sanitizer report (so no out-of-bounds read, no stack overflow from nested
// search keys); the events are the same whether the bytes arrive whole or
// split at a point chosen by the first byte; every Error names a reason and a
// tag; every refused command names a reason; the assembler never holds more
// than the line limit plus one literal; a parsed command has a tag.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "proto/imap/command.h"

using namespace ringmta::imap;

static void check(bool ok) {
  if (!ok) std::abort();
}

static std::string run(std::string_view in, std::size_t split, const AssemblerLimits& l) {
  CommandAssembler a(l);
  std::string events;
  auto drain = [&] {
    for (int guard = 0; guard < 1000000; ++guard) {
      const Assembled e = a.next();
      check(a.buffered() <= l.max_line + l.max_literal + in.size());
      switch (e.status) {
        case AssembleStatus::NeedMore: return;
        case AssembleStatus::Continuation: events += "+\n"; break;
        case AssembleStatus::Error:
          check(!e.error.empty() && !e.tag.empty());
          events += "E " + e.tag + " " + e.error + "\n";
          break;
        case AssembleStatus::Command: {
          check(e.command.size() <= l.max_command);
          const ParseResult r = parse_command(e.command);
          if (r.ok) {
            check(!r.command.tag.empty());
            events += "C " + r.command.tag + " " + std::string(name_text(r.command.name)) + "\n";
          } else {
            check(!r.error.empty());
            events += "B " + r.error + "\n";
          }
          break;
        }
      }
    }
    std::abort();  // next() must reach NeedMore
  };
  a.feed(in.substr(0, split));
  drain();
  a.feed(in.substr(split));
  drain();
  return events;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  AssemblerLimits l;
  l.max_line = 512;  // small limits so the fuzzer reaches them
  l.max_literal = 1024;
  l.max_nonsync_literal = 256;
  l.max_command = 4096;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t split = in.empty() ? 0 : data[0] % (in.size() + 1);
  check(run(in, split, l) == run(in, 0, l));
  // The parser alone, on the raw input as one command (literals inline).
  const ParseResult r = parse_command(in);
  check(r.ok || !r.error.empty());
  return 0;
}
