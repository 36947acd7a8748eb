# tests/fuzz/mime.cmake — libFuzzer target for the MIME structure parser and
# its binary codec (mail/mime.h). Seeds: the golden messages of
# tests/golden/mime plus their encoded blobs (tests/fuzz/corpus/mime).
ringmta_fuzz_target(mime
  SOURCES tests/fuzz/mime_fuzz.cpp mail/mime_parse.cpp mail/mime_fields.cpp mail/mime_address.cpp
          mail/mime_codec.cpp mail/mime_dump.cpp mail/mime_section.cpp mail/headers.cpp mail/address.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/mime)
