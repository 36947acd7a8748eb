// tests/unit/proto/imap/dump.h — a readable one-line rendering of parsed IMAP
// commands and assembler events, used by the golden files and the unit tests
// so expectations are short strings instead of field-by-field checks.
#pragma once

#include <string>
#include <string_view>

#include "proto/imap/command.h"

namespace ringmta::imap::testing {

std::string dump(const Command& c);
std::string dump(const SearchKey& k);
std::string dump(const SequenceSet& s);
std::string dump_result(const ParseResult& r);
// Feeds `in` in chunks split at `splits` (ascending offsets) and renders every
// event, one line each (continuations, commands, errors).
std::string run(std::string_view in, const std::vector<std::size_t>& splits, const AssemblerLimits& limits = {});

}  // namespace ringmta::imap::testing
