# tests/fuzz/imap_search.cmake — libFuzzer target for SEARCH evaluation, SORT
# and THREAD (proto/imap/search_eval.h, sort.h, thread.h). The input's first
# line is a search program ("a SEARCH <line>"), the rest up to eight messages
# separated by NUL bytes; every message is evaluated, all are sorted and
# threaded, and the results are checked (see imap_search_fuzz.cpp).
ringmta_fuzz_target(imap_search
  SOURCES tests/fuzz/imap_search_fuzz.cpp
          proto/imap/search_eval.cpp proto/imap/search_text.cpp proto/imap/search_date.cpp
          proto/imap/sort.cpp proto/imap/thread.cpp
          proto/imap/assembler.cpp proto/imap/command.cpp proto/imap/fetch.cpp
          proto/imap/lexer.cpp proto/imap/search.cpp
          mail/mime_parse.cpp mail/mime_fields.cpp mail/mime_address.cpp mail/mime_codec.cpp
          mail/mime_dump.cpp mail/mime_section.cpp mail/headers.cpp mail/address.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/imap_search)
