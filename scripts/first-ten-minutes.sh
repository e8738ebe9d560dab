#!/usr/bin/env bash
# first-ten-minutes.sh: walks through the README's "First ten minutes" exactly as written, as a
# new user would on a fresh machine, and fails loudly at the first step that does not work:
# start clinicd with scripts/run.sh, ask its health, create the first admin, log in, load the
# demo clinic, list free slots, book the first one. The daemon runs as "Reminders by email"
# starts it, with a local SMTP server (python3-aiosmtpd) printing what it gets: the booking's
# confirmation and its reminder must arrive there. Then stops the daemon (and its PostgreSQL).
# CI runs it in the fresh Debian 12 root after the test suite (scripts/ci-fresh-root.sh).
#
# It needs a clinic that has never started: by default the folder scripts/run.sh uses (as root
# /var/lib/clinicd). To walk through it again on the same machine, name a new folder:
#   CLINIC_DATA_DIR=/var/tmp/clinic-walk bash scripts/first-ten-minutes.sh
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
    data_dir="${CLINIC_DATA_DIR:-/var/lib/clinicd}"
else
    data_dir="${CLINIC_DATA_DIR:-$PWD/var/clinicd}"
fi
if [ -e "$data_dir" ]; then
    echo "first-ten-minutes: $data_dir already holds a clinic; this walks through a first start." >&2
    echo "  Name a folder that does not exist yet: CLINIC_DATA_DIR=/var/tmp/clinic-walk $0" >&2
    exit 1
fi
export CLINIC_DATA_DIR="$data_dir"
# The token of the walk-through's admin goes to a folder of its own, not over the user's.
config_home="$(mktemp -d)"
export XDG_CONFIG_HOME="$config_home"
passphrase='correct horse battery staple'
email=admin@clinic.example
log="$(mktemp)"
mail_log="$(mktemp)"
daemon=
sink=
smtp_port=8025

step() { echo "== $*"; }

stop_daemon() {
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
        kill -TERM "$daemon"
        # clinicd stops its PostgreSQL before it exits; give it the shutdown grace and more.
        for _ in $(seq 1 60); do
            kill -0 "$daemon" 2>/dev/null || break
            sleep 0.5
        done
        kill -0 "$daemon" 2>/dev/null && kill -KILL "$daemon"
    fi
    if [ -n "$sink" ]; then
        kill -TERM "$sink" 2>/dev/null || true
        wait "$sink" 2>/dev/null || true
    fi
    rm -rf "$config_home" "$log" "$mail_log"
}
trap stop_daemon EXIT

fail() {
    echo "first-ten-minutes: $*" >&2
    echo "---- the output of scripts/run.sh:" >&2
    tail -n 40 "$log" >&2
    exit 1
}

step "/usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:$smtp_port   (in the background)"
# -u: the sink's output reaches its file as each message arrives, not when it exits
/usr/bin/python3 -u -m aiosmtpd -n -l "127.0.0.1:$smtp_port" >"$mail_log" 2>&1 </dev/null &
sink=$!

step "CLINIC_SMTP_URL=smtp://127.0.0.1:$smtp_port CLINIC_MAIL_FROM=appointments@clinic.example bash scripts/run.sh   (in the background)"
CLINIC_SMTP_URL="smtp://127.0.0.1:$smtp_port" CLINIC_MAIL_FROM=appointments@clinic.example \
    bash scripts/run.sh >"$log" 2>&1 </dev/null &
daemon=$!

step "build/bin/clinic health"
# run.sh builds first: on a fresh machine that takes a few minutes.
deadline=$((SECONDS + 1200))
until [ -x build/bin/clinic ] && [ "$(build/bin/clinic health 2>/dev/null)" = SERVING ]; do
    kill -0 "$daemon" 2>/dev/null || fail "scripts/run.sh stopped before clinicd answered"
    [ "$SECONDS" -lt "$deadline" ] || fail "clinicd did not answer SERVING within 20 minutes"
    sleep 1
done
build/bin/clinic health

step "build/bin/clinicd bootstrap-admin --email $email --name \"Clinic Admin\" --data-dir $data_dir"
printf '%s\n' "$passphrase" |
    build/bin/clinicd bootstrap-admin --email "$email" --name "Clinic Admin" --data-dir "$data_dir"

step "build/bin/clinic login --email $email"
printf '%s\n' "$passphrase" | build/bin/clinic login --email "$email"

step "build/bin/clinic demo load"
build/bin/clinic demo load

step "build/bin/clinic admin location update 1 --reminder-lead 10080"
# As "Reminders by email" says when the first free time may be more than a day away: the
# reminder then goes a week ahead, so it is due at once.
build/bin/clinic admin location update 1 --reminder-lead 10080 >/dev/null

step "build/bin/clinic slots --service 1"
slots="$(build/bin/clinic slots --service 1)"
echo "$slots" | head -n 6
# The table's first row after the header: START is its first two columns (day and time).
start="$(echo "$slots" | awk 'NR == 2 { print $1 " " $2 }')"
[ -n "$start" ] || fail "the demo clinic offered no slot in the next 7 days"

step "build/bin/clinic book --client 1 --service 1 --start '$start'"
booked="$(build/bin/clinic book --client 1 --service 1 --start "$start")"
echo "$booked"
echo "$booked" | grep -q "$start" || fail "the booking does not show the time asked for ($start)"

step "the booking's confirmation and reminder arrive at the SMTP server"
deadline=$((SECONDS + 60))
until grep -q '^Subject: Reminder: ' "$mail_log" && grep -q '^Subject: Appointment booked: ' "$mail_log"; do
    kill -0 "$sink" 2>/dev/null || fail "the SMTP server stopped: $(cat "$mail_log")"
    [ "$SECONDS" -lt "$deadline" ] ||
        fail "no confirmation and reminder reached the SMTP server within 60 s: $(cat "$mail_log")"
    sleep 1
done
grep -E '^(Subject|To): ' "$mail_log"

step "the first ten minutes work as the README says"
