# tests/fuzz/smtp.cmake — libFuzzer targets for the SMTP server protocol and
# the mail/ address pieces it uses. Seeds: tests/fuzz/corpus/smtp_session
# (the golden transcripts with a flags byte in front) and smtp_address.
ringmta_fuzz_target(smtp_session
  SOURCES
    tests/fuzz/smtp_session_fuzz.cpp
    proto/smtp/server_session.cpp
    proto/smtp/server_session_envelope.cpp
    proto/smtp/server_session_data.cpp
    proto/smtp/server_session_auth.cpp
    proto/smtp/command.cpp
    proto/sasl/sasl.cpp
    base/base64.cpp
    base/text.cpp
    proto/smtp/data_decoder.cpp
    mail/address.cpp
    mail/xtext.cpp
    mail/datetime.cpp
    mail/headers.cpp
  CORPUS tests/fuzz/corpus/smtp_session)
ringmta_fuzz_target(mail_address
  SOURCES
    tests/fuzz/smtp_address_fuzz.cpp
    base/text.cpp
    mail/address.cpp
    mail/xtext.cpp
    mail/datetime.cpp
  CORPUS tests/fuzz/corpus/smtp_address)
