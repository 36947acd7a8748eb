# tests/fuzz/queue.cmake — the queue's record codec (pure: needs no RocksDB).
ringmta_fuzz_target(queue_codec
  SOURCES queue/codec.cpp tests/fuzz/queue_codec_fuzz.cpp
  CORPUS tests/fuzz/corpus/queue_codec)
