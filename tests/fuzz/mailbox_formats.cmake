# tests/fuzz/mailbox_formats.cmake — ringmtactl mailbox import/export's pure
# formats (tools/mailbox_formats.cpp): mbox splitting, From_ dates, Maildir
# flags, header lines, line ends.
ringmta_fuzz_target(mailbox_formats
  SOURCES tools/mailbox_formats.cpp tests/fuzz/mailbox_formats_fuzz.cpp
  CORPUS tests/fuzz/corpus/mailbox_formats)

# The admin API's mail store commands (admin/mailbox_protocol.cpp) on any
# JSON a client may send: refused with a reason or accepted, and an accepted
# request encodes and parses back to the same request.
ringmta_fuzz_target(admin_mailbox_request
  SOURCES tests/fuzz/admin_mailbox_request_fuzz.cpp admin/mailbox_protocol.cpp base/json.cpp base/text.cpp
          base/base64.cpp
  CORPUS tests/fuzz/corpus/admin_mailbox_request)
