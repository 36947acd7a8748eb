# tests/fuzz/aliases.cmake — the aliases file parser and local recipient
# resolution (mail/aliases.cpp is pure). Seeds: the golden cases of
# tests/golden/aliases (copied to tests/fuzz/corpus/aliases).
ringmta_fuzz_target(aliases
  SOURCES mail/aliases.cpp tests/fuzz/aliases_fuzz.cpp
  CORPUS tests/fuzz/corpus/aliases)
