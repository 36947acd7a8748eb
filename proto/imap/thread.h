// proto/imap/thread.h — THREAD (RFC 5256 §3): ORDEREDSUBJECT and REFERENCES
// over the messages a SEARCH selected, producing the text that follows
// "* THREAD " ("(1 2)(3 (4)(5))"; empty when no message), as pure code.
//
// Input: the messages with what thread_needs() asks for. Sent dates are the
// Date: header in UTC (the INTERNALDATE when missing or unparsable);
// ties go to the lower sequence number. REFERENCES reads Message-ID and
// In-Reply-To from the envelope and References from the header bytes, so the
// host must load the structure and the body (the header block suffices: a
// `body` holding only the header is fine when `structure` is null).
//
// Bounds: at most kMaxThreadReferences message-ids per References field (the
// last ones, nearest the message); every walk up the tree is bounded by the
// number of containers, links that would close a loop are never made, and
// the tree is walked and written without recursion.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proto/imap/message_data.h"
#include "proto/imap/search_text.h"

namespace ringmta::imap {

inline constexpr size_t kMaxThreadReferences = 256;

// "ORDEREDSUBJECT" or "REFERENCES" (upper case, as Command::mechanism holds).
bool thread_algorithm_supported(std::string_view algorithm);

// Need bits: ORDEREDSUBJECT kNeedStructure; REFERENCES kNeedStructure | kNeedBody.
unsigned thread_needs(std::string_view algorithm);

// The thread response text; numbers are UIDs when `use_uid`, else sequence
// numbers. An unsupported algorithm gives "".
std::string thread_messages(const std::vector<MessageData>& msgs, std::string_view algorithm, bool use_uid);

}  // namespace ringmta::imap
