# tests/fuzz/imap_mutf7.cmake — libFuzzer target for modified UTF-7 mailbox
# names (proto/imap/mutf7.h): decode any bytes; whatever decodes is a valid
# UTF-8 mailbox name that encodes back to exactly the input; the input read as
# UTF-8 encodes (when it is a valid name) to something that decodes back.
ringmta_fuzz_target(imap_mutf7
  SOURCES tests/fuzz/imap_mutf7_fuzz.cpp proto/imap/mutf7.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/imap_mutf7)
