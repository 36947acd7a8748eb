# tests/fuzz/mta_sts_policy.cmake — libFuzzer target for the MTA-STS policy
# parser, TXT record parser and MX pattern match (relay/mta_sts_policy.h).
# Seeds: tests/golden/mta_sts (copied to tests/fuzz/corpus/mta_sts_policy).
ringmta_fuzz_target(mta_sts_policy
  SOURCES tests/fuzz/mta_sts_policy_fuzz.cpp relay/mta_sts_policy.cpp
  CORPUS tests/fuzz/corpus/mta_sts_policy)
