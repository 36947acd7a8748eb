# tests/fuzz/imap_command.cmake — libFuzzer target for the IMAP command
# assembler + parser (proto/imap/command.h). Seeds: the golden inputs of
# tests/golden/imap (copied to tests/fuzz/corpus/imap_command).
ringmta_fuzz_target(imap_command
  SOURCES tests/fuzz/imap_command_fuzz.cpp proto/imap/assembler.cpp proto/imap/command.cpp
          proto/imap/fetch.cpp proto/imap/lexer.cpp proto/imap/search.cpp
  CORPUS tests/fuzz/corpus/imap_command)
