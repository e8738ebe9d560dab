#!/usr/bin/env bash
# install-deps.sh: installs the Debian 12 packages clinicd needs to build, run and test.
# Runs `apt-get update` once, and only when something is missing; safe to run again.
set -euo pipefail

# Why each package is here:
#   build-essential cmake pkg-config   the C17 toolchain and build system
#   protobuf-c-compiler libprotobuf-c-dev   protoc-c generates the wire code at build time
#   libnng-dev                         the RPC and event sockets
#   libpq-dev postgresql               the database client and a server for the embedded default and tests
#   libsodium-dev                      Argon2id password hashing and random tokens; base64 in JSON
#   libjansson-dev                     JSON: libclinic's `--json` output and JSON requests
#   libmicrohttpd-dev                  clinic-gateway's HTTP server (Connect over HTTP/1.1)
#   libical-dev                        clinic-gateway writes calendar feeds (RFC 5545 iCalendar)
#   libcurl4-openssl-dev               clinicd's mailer sends confirmations and reminders over SMTP
#                                      and posts them to the webhook with libcurl; the gateway's
#                                      tests call it over HTTP with libcurl
#   libsystemd-dev                     sd_notify: clinicd tells systemd when it is ready, what it
#                                      does (STATUS) and that its workers live (the watchdog)
#   scdoc                              builds the manual pages clinicd(8) and clinic(1) from docs/man
#   file                               CPack's .deb (cpack -G DEB) looks at each file with it before
#                                      dpkg-shlibdeps derives the package's library dependencies
#   systemd                            systemd-analyze verifies the units in packaging/systemd
#   python3-aiosmtpd                   the mail tests' SMTP server (tests/integration/smtp_sink.py),
#                                      and a local sink to read reminders in (README)
#   wrk                                the gateway's benchmark: Book as JSON over HTTP (bench/booking)
#   python3-icalendar                  the feeds' test reads them with a real iCalendar parser
#   chromium chromium-driver python3-selenium
#                                      the booking page's tests: headless Chromium driven through
#                                      ChromeDriver by Selenium (tests/browser/booking_page.py)
#   libcmocka-dev                      unit tests
#   postgresql-15-pgtap                schema tests
#   clang libclang-rt-14-dev           the sanitizer build of the test suite (AddressSanitizer and
#                                      UndefinedBehaviorSanitizer runtimes)
#   llvm                               llvm-symbolizer: sanitizer reports name functions and lines,
#                                      and LeakSanitizer's suppressions (tests/lsan.supp) match names
#   clang-format                       checks that the C files follow the committed .clang-format
#   faketime                           runs the date-sensitive tests one and three years ahead
#   openssl                            makes the throw-away certificates of the TLS tests
#   procps util-linux                  ps/kill and runuser/setpriv to run PostgreSQL unprivileged
#   ca-certificates git                clone the project (CI clones the commit into a fresh root)
#   python3                            the time-zone test's oracle (tests/integration/tz_oracle.py):
#                                      Python's zoneinfo reads the IANA rules apart from PostgreSQL;
#                                      scripts/ha.sh picks free ports with it
#   pg-auto-failover-cli postgresql-15-auto-failover
#                                      failover: pg_autoctl and the monitor's extension
#                                      (scripts/ha.sh, tests/integration/test_failover.c)
packages=(build-essential cmake pkg-config protobuf-c-compiler libprotobuf-c-dev libnng-dev
          libpq-dev postgresql libsodium-dev libjansson-dev libmicrohttpd-dev libical-dev
          libcurl4-openssl-dev libsystemd-dev libcmocka-dev
          scdoc file systemd postgresql-15-pgtap
          clang libclang-rt-14-dev llvm clang-format faketime
          openssl procps util-linux ca-certificates git python3
          pg-auto-failover-cli postgresql-15-auto-failover
          chromium chromium-driver python3-selenium python3-icalendar python3-aiosmtpd wrk)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]}; run this script as root (or with sudo)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
