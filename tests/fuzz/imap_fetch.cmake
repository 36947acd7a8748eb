# tests/fuzz/imap_fetch.cmake — libFuzzer target for the FETCH response
# (proto/imap/fetch_response.h). The input is a FETCH command line, "\n", then
# a message: parse_command() and parse_mime() read them, append_fetch()
# answers, and the response must read back (tests/unit/proto/imap/fetch_check.h:
# literal counts, literal8 only for BINARY, lists well-formed), BODY[] must be
# the message, BINARY.SIZE the size of BINARY, and the answer must be the same
# from only what fetch_needs() asked for. Seeds: tests/fuzz/corpus/imap_fetch.
ringmta_fuzz_target(imap_fetch
  SOURCES tests/fuzz/imap_fetch_fuzz.cpp
          proto/imap/fetch_response.cpp proto/imap/fetch_response_parts.cpp
          proto/imap/response.cpp proto/imap/response_body.cpp proto/imap/mutf7.cpp
          proto/imap/command.cpp proto/imap/fetch.cpp proto/imap/lexer.cpp proto/imap/search.cpp
          mail/mime_parse.cpp mail/mime_fields.cpp mail/mime_address.cpp mail/mime_codec.cpp
          mail/mime_dump.cpp mail/mime_section.cpp mail/headers.cpp mail/address.cpp
          mail/datetime.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/imap_fetch)
