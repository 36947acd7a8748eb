// dkim/tags.h — the tag=value list of DKIM (RFC 6376 §3.2): the
// DKIM-Signature header's value and the DNS key record ("v=DKIM1; k=rsa;
// p=..."). The signer writes these; the parser serves the tests (which read
// back what we sign), `ringmtactl dkim keygen`'s self-check and the fuzz target.
//
// Pure: standard library only. Bad input yields an error, never a crash.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ringmta::dkim {

struct TagList {
  std::vector<std::pair<std::string, std::string>> tags;  // in order; values trimmed of FWS
  std::string error;                                      // "" = parsed

  bool ok() const { return error.empty(); }
  // The value of `name` (tag names are case-sensitive), or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
};

// tag-list = tag-spec *( ";" tag-spec ) [ ";" ]
// tag-spec = [FWS] tag-name [FWS] "=" [FWS] tag-value [FWS]
// tag-name = ALPHA *( ALPHA / DIGIT / "_" ); tag-value: %x21-3A / %x3C-7E
// with FWS only between value characters. A tag twice is an error (§3.2:
// "Tags with duplicate names MUST NOT occur"). At most `max_tags` tags.
TagList parse_tags(std::string_view text, size_t max_tags = 64);

// `value` without any whitespace or folds (base64 values: b=, bh=, p=).
std::string strip_fws(std::string_view value);

}  // namespace ringmta::dkim
