# tests/fuzz/smtp_client.cmake — libFuzzer targets for the SMTP client side
# (proto/smtp/reply_parser, proto/smtp/client_session). The harness sources
# live with the unit tests in tests/unit/proto/smtp/ (plain .cpp files the
# unit CMakeLists does not compile). Seeds: the server side of the golden
# transcripts in tests/golden/smtp_client/, one flags byte in front.
ringmta_fuzz_target(smtp_reply_parser
  SOURCES tests/unit/proto/smtp/fuzz_reply_parser.cpp proto/smtp/reply_parser.cpp
  CORPUS tests/fuzz/corpus/smtp_client_reply)
ringmta_fuzz_target(smtp_client_session
  SOURCES tests/unit/proto/smtp/fuzz_client_session.cpp proto/smtp/reply_parser.cpp
          proto/smtp/client_session.cpp proto/smtp/client_session_commands.cpp
          proto/smtp/client_session_results.cpp mail/xtext.cpp base/text.cpp
  CORPUS tests/fuzz/corpus/smtp_client_session)
