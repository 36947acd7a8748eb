# tests/fuzz/pop3.cmake — libFuzzer target for the POP3 server session
# (proto/pop3) with the SASL pieces it uses. Seeds: tests/fuzz/corpus/pop3_session
# (the golden transcripts of tests/golden/pop3 with two flag bytes in front).
ringmta_fuzz_target(pop3_session
  SOURCES
    tests/fuzz/pop3_session_fuzz.cpp
    proto/pop3/server_session.cpp
    proto/pop3/server_session_auth.cpp
    proto/pop3/server_session_maildrop.cpp
    proto/pop3/message_writer.cpp
    proto/sasl/sasl.cpp
    base/base64.cpp
    base/text.cpp
    mail/address.cpp
    mail/xtext.cpp
    mail/datetime.cpp
  CORPUS tests/fuzz/corpus/pop3_session)
