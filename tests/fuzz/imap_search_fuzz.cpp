// tests/fuzz/imap_search_fuzz.cpp — see imap_search.cmake. Besides "no crash,
// no out-of-bounds read, no hang", it checks:
//  - search_needs() is honest: evaluating with only what it asks for loaded
//    gives the same answer as with everything loaded, and a message without
//    its structure (parsed on the spot) answers like one with it;
//  - NOT of the program is the complement of the program;
//  - every SORT result is a permutation of the messages;
//  - every THREAD response is well-formed thread-list text naming each
//    message exactly once.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "mail/mime.h"
#include "proto/imap/command.h"
#include "proto/imap/search_eval.h"
#include "proto/imap/sort.h"
#include "proto/imap/thread.h"

using namespace ringmta;

#define CHECK(c)                                                          \
  do {                                                                    \
    if (!(c)) {                                                           \
      std::fprintf(stderr, "CHECK failed: %s (line %d)\n", #c, __LINE__); \
      std::abort();                                                       \
    }                                                                     \
  } while (0)

namespace {

// Parses "(1 2)(3 (4)(5))": balanced, digits/space/parens only, no "()",
// each of 1..n exactly once.
void check_thread(const std::string& t, size_t n) {
  std::vector<int> seen(n + 1, 0);
  int depth = 0;
  for (size_t i = 0; i < t.size();) {
    const char c = t[i];
    if (c == '(') {
      CHECK(i + 1 < t.size() && t[i + 1] != ')' && t[i + 1] != ' ');
      ++depth;
      ++i;
    } else if (c == ')') {
      CHECK(depth > 0);
      --depth;
      ++i;
    } else if (c == ' ') {
      CHECK(i > 0 && t[i - 1] != '(' && t[i - 1] != ' ');
      ++i;
    } else {
      CHECK(c >= '1' && c <= '9' && depth > 0);
      size_t v = 0;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') v = v * 10 + static_cast<size_t>(t[i++] - '0');
      CHECK(v >= 1 && v <= n);
      ++seen[v];
    }
  }
  CHECK(depth == 0);
  for (size_t v = 1; v <= n; ++v) CHECK(seen[v] == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  const std::string_view program = in.substr(0, nl);
  std::string_view rest = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  std::deque<std::string> raws;
  std::deque<mail::MimeStructure> structures;
  std::vector<std::string> keywords = {"$Forwarded", "Work"};
  std::vector<imap::MessageData> msgs;
  for (uint32_t i = 0; i < 8 && (i == 0 || !rest.empty()); ++i) {
    const size_t z = rest.find('\0');
    raws.emplace_back(rest.substr(0, z));
    rest = z == std::string_view::npos ? std::string_view() : rest.substr(z + 1);
    structures.push_back(mail::parse_mime(raws.back()));
    imap::MessageData m;
    m.seq = i + 1;
    m.uid = 3 * i + 2;
    const uint8_t h = raws.back().empty() ? 0 : static_cast<uint8_t>(raws.back()[0]);
    m.flags = h & 31;
    m.recent = (h & 32) != 0;
    m.keywords = (h & 64) ? &keywords : nullptr;
    m.size = raws.back().size();
    m.internal_date_ms = static_cast<int64_t>(raws.back().size()) * 86400000LL * 37 - 500000000000LL;
    m.modseq = raws.back().size() % 7;
    m.structure = &structures.back();
    m.body = raws.back();
    m.has_body = true;
    msgs.push_back(m);
  }

  imap::ParseResult r = imap::parse_command("a SEARCH " + std::string(program));
  if (r.ok) {
    const imap::SearchKey& key = r.command.criteria;
    imap::SearchKey negated{"NOT", {}, 0, {}, {}, {}};
    negated.children.push_back(key);
    const unsigned needs = imap::search_needs(key);
    std::vector<uint32_t> saved = {2, 5, 7};  // sorted, as SearchContext asks
    imap::SearchContext ctx{static_cast<uint32_t>(msgs.size()), 3 * static_cast<uint32_t>(msgs.size()) - 1, &saved,
                            1'800'000'000'000LL};
    const imap::SearchProgram program(key);  // as the host runs it: prepared once
    CHECK(program.needs() == needs);
    for (const imap::MessageData& m : msgs) {
      const bool full = program.matches(m, ctx);
      imap::MessageData partial = m;  // only what search_needs asked for
      if (!(needs & imap::kNeedStructure)) partial.structure = nullptr;
      if (!(needs & imap::kNeedBody)) {
        partial.has_body = false;
        partial.body = {};
      }
      CHECK(imap::search_matches(key, partial, ctx) == full);
      imap::MessageData bare = m;
      bare.structure = nullptr;
      CHECK(imap::search_matches(key, bare, ctx) == full);
      CHECK(imap::search_matches(negated, m, ctx) == !full);
    }
  }

  const std::vector<std::vector<std::string>> sorts = {
      {"ARRIVAL"}, {"REVERSE", "DATE"}, {"SUBJECT", "REVERSE", "SIZE"}, {"FROM", "TO", "CC"},
      {"DISPLAYFROM", "REVERSE", "DISPLAYTO"}};
  for (const auto& keys : sorts) {
    std::vector<uint32_t> order = imap::sort_messages(msgs, keys);
    CHECK(order.size() == msgs.size());
    std::vector<int> seen(msgs.size(), 0);
    for (uint32_t i : order) {
      CHECK(i < msgs.size());
      CHECK(++seen[i] == 1);
    }
  }
  for (std::string_view alg : {"ORDEREDSUBJECT", "REFERENCES"}) {
    check_thread(imap::thread_messages(msgs, alg, false), msgs.size());
  }
  return 0;
}
