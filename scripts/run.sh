#!/usr/bin/env bash
# run.sh: installs what is missing, builds, and runs clinicd on its embedded default (a private
# PostgreSQL cluster it starts itself), with clinic-gateway beside it for HTTP clients. Stop both
# with Ctrl-C. Extra arguments go to clinicd.
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

# The gateway dials clinicd by itself once it listens, and stops when clinicd has stopped.
gateway_listen="${CLINIC_GATEWAY_LISTEN:-127.0.0.1:7480}"
build/bin/clinic-gateway --listen "$gateway_listen" --url "$listen" --web-root "$PWD/web" &
gateway_pid=$!
trap 'kill "$gateway_pid" 2>/dev/null || true' EXIT
echo "the booking page for clients: http://$gateway_listen/   (log in with a client's account)"
echo "HTTP clients (Connect, JSON): http://$gateway_listen/clinic.v1.Health/Check and every other method"
echo "calendar feeds for phones: build/bin/clinic calendar-link --gateway http://$gateway_listen"

# clinicd runs as a child so that this script can stop the gateway after it; Ctrl-C or a TERM
# sent to this script is passed on as the TERM that makes clinicd answer what it holds, stop its
# PostgreSQL and exit, and the script waits for that.
build/bin/clinicd "$@" &
clinicd_pid=$!
trap 'kill -TERM "$clinicd_pid" 2>/dev/null || true' TERM INT
status=0
wait "$clinicd_pid" || status=$?
# a signal ends the wait above early: wait on until clinicd has stopped, for its own status
while kill -0 "$clinicd_pid" 2>/dev/null; do
    status=0
    wait "$clinicd_pid" || status=$?
done
exit "$status"
