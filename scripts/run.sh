#!/usr/bin/env bash
# run.sh: installs what is missing, builds, and runs clinicd on its embedded default (a private
# PostgreSQL cluster it starts itself). Stop it with Ctrl-C. Extra arguments go to clinicd.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

# PostgreSQL runs as the unprivileged user "postgres" when clinicd runs as root, and that user
# must be able to reach the data folder: a checkout under /root is not reachable, so root keeps
# its cluster under /var/lib/clinicd unless CLINIC_DATA_DIR says otherwise.
if [ "$(id -u)" -eq 0 ] && [ -z "${CLINIC_DATA_DIR:-}" ]; then
    export CLINIC_DATA_DIR=/var/lib/clinicd
fi
listen="${CLINIC_LISTEN:-tcp://127.0.0.1:7450}"
echo "clinicd will listen on $listen (events on ${CLINIC_EVENTS:-tcp://127.0.0.1:7451})," \
     "data in ${CLINIC_DATA_DIR:-./var/clinicd}"
echo "in another terminal, try:  build/bin/clinic --url $listen health   (then: build/bin/clinic methods)"
echo "first time? create the first admin (asks for a password), then log in:"
echo "  build/bin/clinicd bootstrap-admin --email you@example.org${CLINIC_DATA_DIR:+ --data-dir $CLINIC_DATA_DIR}"
echo "  build/bin/clinic --url $listen login --email you@example.org"
exec build/bin/clinicd "$@"
