# tests/fuzz/admin.cmake — libFuzzer targets for what the admin API reads from
# its clients (base/json: the JSON parser and writer) and for the
# escaping of client text on log lines and terminals (mail/text_escape).
# Seeds: tests/fuzz/corpus/admin_json (requests as ringmtactl writes them and
# malformed ones) and tests/fuzz/corpus/text_escape.
ringmta_fuzz_target(admin_json
  SOURCES tests/fuzz/admin_json_fuzz.cpp base/json.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/admin_json)
ringmta_fuzz_target(text_escape
  SOURCES tests/fuzz/text_escape_fuzz.cpp mail/text_escape.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/text_escape)
