# tests/fuzz/mailbox_formats.cmake — ringmtactl mailbox import/export's pure
# formats (tools/mailbox_formats.cpp): mbox splitting, From_ dates, Maildir
# flags, header lines, line ends.
ringmta_fuzz_target(mailbox_formats
  SOURCES tools/mailbox_formats.cpp tests/fuzz/mailbox_formats_fuzz.cpp
  CORPUS tests/fuzz/corpus/mailbox_formats)
