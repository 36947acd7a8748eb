// proto/imap/needs.h — what the pure IMAP response and search code needs of a
// message beyond its record, as bits: the host (access/) reads the MIME
// structure and/or the message bytes from the store only when asked, so a
// FETCH FLAGS over 10,000 messages reads nothing but records. One home for
// the names, shared by fetch_response.h and search_eval.h.
#pragma once

namespace ringmta::imap {

enum Need : unsigned {
  kNeedNothing = 0,
  kNeedStructure = 1,  // MessageData::structure (mail::MimeStructure, parsed at delivery)
  kNeedBody = 2,       // MessageData::body (the stored message bytes)
};

}  // namespace ringmta::imap
