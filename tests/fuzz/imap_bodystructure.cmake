# tests/fuzz/imap_bodystructure.cmake — libFuzzer target for the IMAP response
# writer (proto/imap/response.h): parse_mime() on any bytes, then ENVELOPE,
# BODY and BODYSTRUCTURE of every part (rev1 and rev2/UTF-8 options) must be
# well-formed IMAP data — balanced parentheses, valid quoted strings and
# literals (tests/unit/proto/imap/syntax_check.h) — and the same after
# the structure's encode/decode round trip.
ringmta_fuzz_target(imap_bodystructure
  SOURCES tests/fuzz/imap_bodystructure_fuzz.cpp proto/imap/response.cpp proto/imap/response_body.cpp proto/imap/mutf7.cpp
          mail/mime_parse.cpp mail/mime_fields.cpp mail/mime_address.cpp mail/mime_codec.cpp
          mail/mime_dump.cpp mail/mime_section.cpp mail/headers.cpp mail/address.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/imap_bodystructure)
