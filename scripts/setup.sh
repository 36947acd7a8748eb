#!/usr/bin/env bash
# scripts/setup.sh — make a fresh Debian 12 machine able to build and test
# ringmta, then build it into ./build. Idempotent: installs only missing
# packages (apt-get update only when something is missing), configures the
# build only once, and rebuilds incrementally. Works from any directory.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
echo "setup: repository $(pwd)"

packages=(
  build-essential cmake ninja-build pkg-config
  liburing-dev libssl-dev libc-ares-dev libcurl4-openssl-dev librocksdb-dev prometheus-cpp-dev
  libbenchmark-dev libgtest-dev libgmock-dev libtomlplusplus-dev libcli11-dev
  libfmt-dev libspdlog-dev libcrypt-dev zlib1g-dev
  clang libclang-rt-14-dev
  swaks libnet-ssleay-perl openssl dnsmasq-base python3 python3-pytest python3-aiosmtpd python3-dnslib
  curl prometheus python3-yaml
  python3-dkim opendkim-tools
  postfix
  fetchmail mpop dovecot-pop3d dovecot-lmtpd
  # IMAP (issue 17): real clients for tests/integration/test_imap_clients.py;
  # dovecot-imapd only for validating those tests and the IMAP benchmark.
  isync offlineimap3 neomutt dovecot-imapd nodejs
)
# npm: Debian's nodejs leaves it to the npm package, NodeSource's nodejs
# ships it (and conflicts with Debian's npm), so ask for it only if missing.
if ! command -v npm >/dev/null; then
  packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
      exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  # `postfix` is installed for its tools (smtp-sink and smtp-source: real SMTP
  # peers in the delivery tests and the load in bench/compare.sh; smtpd for a
  # private instance in a chunking test). "No configuration": no main.cf, so
  # no MTA starts on this machine's port 25.
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    echo "postfix postfix/main_mailer_type select No configuration" | "${sudo[@]}" debconf-set-selections
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
  # `prometheus` is installed for promtool (tests check /metrics and the alert
  # rules with it). Its package enables and starts a Prometheus server on
  # :9090; this machine only needs the tool, so leave no service behind.
  if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null \
      && [[ -d /run/systemd/system ]]; then
    "${sudo[@]}" systemctl disable --now prometheus.service || true
  fi
  if [[ " ${missing[*]} " == *" postfix "* ]] && command -v systemctl >/dev/null \
      && [[ -d /run/systemd/system ]]; then
    "${sudo[@]}" systemctl disable --now postfix.service || true
  fi
  # Dovecot likewise: its packages serve the comparisons and client tests in
  # private instances; the system service they start would hold ports
  # 110/143/993/995 on this machine for nothing.
  if [[ " ${missing[*]} " == *" dovecot-"* ]] && command -v systemctl >/dev/null \
      && [[ -d /run/systemd/system ]]; then
    "${sudo[@]}" systemctl disable --now dovecot.service dovecot.socket 2>/dev/null || true
  fi
else
  echo "setup: all ${#packages[@]} packages present"
fi

# imapflow for the IMAP client tests, exactly as locked in package-lock.json
# (node_modules is not committed). Only when it is missing.
if [[ ! -d tests/integration/node/node_modules/imapflow ]]; then
  echo "setup: npm ci in tests/integration/node"
  # Not fatal: without the npm registry only the two imapflow tests skip
  # (saying why); everything else still builds and runs.
  (cd tests/integration/node && { npm ci --offline --no-audit --no-fund 2>/dev/null || npm ci --no-audit --no-fund; }) \
    || echo "setup: WARNING: npm ci failed; the imapflow tests will be skipped" >&2
else
  echo "setup: tests/integration/node/node_modules present"
fi

if [[ ! -f build/CMakeCache.txt ]]; then
  echo "setup: configuring build/ (Ninja, RelWithDebInfo)"
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
else
  echo "setup: build/ already configured"
fi

echo "setup: building with $(nproc) jobs"
cmake --build build -j"$(nproc)"
echo "setup: done — run ./build/ringmta, test with ctest --test-dir build"
