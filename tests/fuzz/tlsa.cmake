# tests/fuzz/tlsa.cmake — libFuzzer target for raw DNS answers, TLSA RDATA
# and TXT text (dns/tlsa.h). Seeds: answers in tests/fuzz/corpus/tlsa.
ringmta_fuzz_target(tlsa
  SOURCES tests/fuzz/tlsa_fuzz.cpp dns/tlsa.cpp
  CORPUS tests/fuzz/corpus/tlsa)
