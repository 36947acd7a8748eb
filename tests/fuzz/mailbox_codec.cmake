# tests/fuzz/mailbox_codec.cmake — the mail store's record and key codec
# (mailbox/codec.cpp is pure: no RocksDB, no queue).
ringmta_fuzz_target(mailbox_codec
  SOURCES mailbox/codec.cpp tests/fuzz/mailbox_codec_fuzz.cpp
  CORPUS tests/fuzz/corpus/mailbox_codec)
