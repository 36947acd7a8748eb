# tests/fuzz/dkim_tags.cmake — libFuzzer target for the DKIM tag-list parser
# and canonicalisation (dkim/tags.h, dkim/canon.h, dkim/signature.h: the pure
# parts, standard library only). Seeds: DKIM-Signature values and key
# records, and messages with folded headers and odd line ends.
ringmta_fuzz_target(dkim_tags
  SOURCES tests/fuzz/dkim_tags_fuzz.cpp dkim/tags.cpp dkim/canon.cpp dkim/signature.cpp
  CORPUS tests/fuzz/corpus/dkim_tags)
