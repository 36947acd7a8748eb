// tools/ctl_dkim.h — `ringmtactl dkim keygen DOMAIN SELECTOR [--algorithm
// rsa-sha256|ed25519-sha256] [--bits 2048] [--out PATH]`: a new DKIM private
// key written with mode 0600 (never over an existing file), and the DNS TXT
// record to publish for it on stdout.
#pragma once

#include <string>

namespace ringmta::tools {

struct DkimKeygen {
  std::string domain;
  std::string selector;
  std::string algorithm = "rsa-sha256";
  unsigned bits = 2048;
  std::string out;  // "" = SELECTOR.DOMAIN.key in the current directory
};

// The TXT record line: "SELECTOR._domainkey.DOMAIN. IN TXT ( "..." "..." )"
// with the value split into strings of at most 255 bytes (RFC 1035 §3.3.14;
// RFC 6376 §3.6.2.2: verifiers join them).
std::string dkim_txt_record(const std::string& domain, const std::string& selector, const std::string& value);

// Exit code: 0 done, 1 the file cannot be written (or exists), 2 bad input.
int run_dkim_keygen(const DkimKeygen& k);

}  // namespace ringmta::tools
