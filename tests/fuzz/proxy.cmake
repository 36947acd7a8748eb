# tests/fuzz/proxy.cmake — libFuzzer target for the PROXY protocol v1/v2
# header parser (proto/proxy/proxy_protocol). Seeds: the golden inputs of
# tests/golden/proxy (copied to tests/fuzz/corpus/proxy_protocol).
ringmta_fuzz_target(proxy_protocol
  SOURCES tests/fuzz/proxy_protocol_fuzz.cpp proto/proxy/proxy_protocol.cpp
  CORPUS tests/fuzz/corpus/proxy_protocol)
