# proto/imap/response.cmake — the IMAP response-side building blocks as one
# static library (namespace ringmta::imap): modified UTF-7 mailbox names
# (mutf7.h) and the text of strings, flag lists, ENVELOPE and BODYSTRUCTURE
# (response.h). Pure code: bytes in, text out. Included from proto/.
add_library(ringmta_imap_response STATIC
  ${CMAKE_CURRENT_LIST_DIR}/mutf7.cpp
  ${CMAKE_CURRENT_LIST_DIR}/response.cpp
  ${CMAKE_CURRENT_LIST_DIR}/response_body.cpp
)
target_include_directories(ringmta_imap_response PUBLIC ${RINGMTA_ROOT})
target_link_libraries(ringmta_imap_response PUBLIC ringmta_mail ringmta_base)
