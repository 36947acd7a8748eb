// tools/ctl_dkim.cpp — see ctl_dkim.h.
#include "tools/ctl_dkim.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/text.h"
#include "dkim/key.h"
#include "mail/address.h"

namespace ringmta::tools {

std::string dkim_txt_record(const std::string& domain, const std::string& selector, const std::string& value) {
  std::string out = selector + "._domainkey." + domain + ". IN TXT (";
  for (size_t i = 0; i < value.size(); i += 255) out += " \"" + value.substr(i, 255) + "\"";
  return out + " )";
}

int run_dkim_keygen(const DkimKeygen& k) {
  const std::string domain = base::to_lower_ascii(k.domain);
  if (!mail::valid_domain(domain, false) || domain.front() == '[') {
    std::fprintf(stderr, "ringmtactl: '%s' is not a domain name\n", k.domain.c_str());
    return 2;
  }
  // A selector is one or more DNS labels (RFC 6376 §3.1: sub-domain).
  if (!mail::valid_domain(k.selector, false) || k.selector.front() == '[') {
    std::fprintf(stderr, "ringmtactl: '%s' is not a selector (letters, digits, '-', dots between labels)\n",
                 k.selector.c_str());
    return 2;
  }
  const auto algorithm = dkim::parse_algorithm(k.algorithm);
  if (!algorithm) {
    std::fprintf(stderr, "ringmtactl: --algorithm must be rsa-sha256 or ed25519-sha256\n");
    return 2;
  }
  if (*algorithm == dkim::Algorithm::RsaSha256 && (k.bits < 1024 || k.bits > 8192)) {
    std::fprintf(stderr, "ringmtactl: --bits must be 1024 to 8192 (RFC 8301: 2048 recommended)\n");
    return 2;
  }
  auto key = dkim::PrivateKey::generate(*algorithm, k.bits);
  if (!key) {
    std::fprintf(stderr, "ringmtactl: %s\n", key.error().c_str());
    return 1;
  }
  const std::string path = k.out.empty() ? k.selector + "." + domain + ".key" : k.out;
  const std::string pem = key->pem();
  // O_EXCL: never replace a key that may be published already.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::fprintf(stderr, "ringmtactl: %s: %s\n", path.c_str(), std::strerror(errno));
    return 1;
  }
  ::fchmod(fd, 0600);  // whatever the umask
  size_t done = 0;
  while (done < pem.size()) {  // bounded: the PEM size
    const ssize_t n = ::write(fd, pem.data() + done, pem.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const bool ok = done == pem.size() && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) {
    std::fprintf(stderr, "ringmtactl: %s: write failed: %s\n", path.c_str(), std::strerror(errno));
    ::unlink(path.c_str());
    return 1;
  }
  std::fprintf(stderr, "ringmtactl: wrote %s (%s%s, mode 0600); publish this record:\n", path.c_str(),
               k.algorithm.c_str(),
               *algorithm == dkim::Algorithm::RsaSha256 ? (", " + std::to_string(key->bits()) + " bits").c_str() : "");
  std::printf("%s\n", dkim_txt_record(domain, k.selector, key->dns_record()).c_str());
  return 0;
}

}  // namespace ringmta::tools
