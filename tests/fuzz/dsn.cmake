# tests/fuzz/dsn.cmake — libFuzzer targets for mail/headers.h and mail/dsn.h.
# The harness sources live with the unit tests in tests/unit/dsn/ (plain .cpp
# files the unit CMakeLists does not compile). Both targets start from the same
# seed messages.
ringmta_fuzz_target(mail_headers
  SOURCES tests/unit/dsn/fuzz_mail_headers.cpp mail/headers.cpp
  CORPUS tests/fuzz/corpus/mail_headers)
ringmta_fuzz_target(dsn_compose
  SOURCES tests/unit/dsn/fuzz_dsn_compose.cpp mail/headers.cpp mail/dsn.cpp
  CORPUS tests/fuzz/corpus/mail_headers)
