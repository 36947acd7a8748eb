# tests/fuzz/dsn.cmake — libFuzzer targets for mail/headers.h and mail/dsn.h.
# The harness sources live with the unit tests in tests/unit/mail/ (plain .cpp
# files the unit CMakeLists does not compile). Both targets start from the same
# seed messages.
ringmta_fuzz_target(mail_headers
  SOURCES tests/unit/mail/fuzz_mail_headers.cpp mail/headers.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/mail_headers)
ringmta_fuzz_target(dsn_compose
  SOURCES tests/unit/mail/fuzz_dsn_compose.cpp mail/headers.cpp mail/dsn.cpp mail/address.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/mail_headers)
