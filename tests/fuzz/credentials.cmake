# tests/fuzz/credentials.cmake — the delivery.credentials_file parser and its
# lookups (relay/credentials.cpp is pure), and the [delivery.rate] pattern
# matcher and token buckets (relay/destination_rate.cpp, pure). Seeds: the
# golden cases of tests/golden/credentials (copied to tests/fuzz/corpus/credentials).
ringmta_fuzz_target(credentials
  SOURCES relay/credentials.cpp relay/destination_rate.cpp tests/fuzz/credentials_fuzz.cpp
  CORPUS tests/fuzz/corpus/credentials)
