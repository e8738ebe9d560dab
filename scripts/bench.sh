#!/usr/bin/env bash
# bench.sh: builds a Release tree in build-bench/, starts a private clinicd on its embedded
# PostgreSQL on free loopback ports, runs the benchmarks against it and takes it all down.
#
#   bash scripts/bench.sh                      rpc_overhead, slots, booking and reports, with defaults
#   bash scripts/bench.sh NAME [options]       one of them with its own options, e.g.
#                                              bash scripts/bench.sh booking --seconds 10
#   bash scripts/bench.sh [rpc_overhead options]   as before: rpc_overhead alone
#   bash scripts/bench.sh failover [booking options]
#                                              Book at 16 callers on a pg_auto_failover
#                                              formation (scripts/ha.sh: a primary with a
#                                              synchronous secondary) beside the same run on the
#                                              embedded single PostgreSQL
#
# Each program prints its own --help. booking, slots and reports get the daemon's database
# (--database) to set up their clinic and for pgbench; they leave their rows in it, which is
# why every run starts a fresh cluster in a temporary folder.
#
# Order: slots runs before booking so that its smallest size (10 000 rows) is the table's
# real size; booking then books into a table of a million appointments, like a clinic with
# years of history (it prints the table's size).
#
# The daemon runs as shipped: --workers is clinicd's default, 2 per core, unless
# CLINIC_BENCH_WORKERS is set (to compare). Each worker is a PostgreSQL connection, and more busy
# connections than the machine has cores make every booking dearer: on 2 cores, 16 workers
# booked ~800 a second at 16 callers, 4 workers ~1000, with 15 % less CPU per booking (README,
# "Benchmarks"). Callers beyond the workers wait in the socket's queue, as they would in use.
#
# Works as root: clinicd then runs its cluster as the unprivileged `postgres` user, which must be
# able to reach the data folder (hence chmod 755 on the temporary folder).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
bin="$build/bin"
workers="${CLINIC_BENCH_WORKERS:-}"
startup_timeout_s=60
stop_timeout_s=30
all_benchmarks=(rpc_overhead slots booking reports)
# failover is not among them: it starts three more PostgreSQL servers and takes a minute or two.
ha_dir=""
ha_pid=""
gateway_pid=""
gateway_url=""

log() { echo "bench: $*" >&2; }

# Which benchmarks, with which options: a name first selects one; options alone go to
# rpc_overhead (what this script ran before it knew other benchmarks); nothing runs them all.
selected=("${all_benchmarks[@]}")
if [ $# -gt 0 ]; then
    case "$1" in
    rpc_overhead | slots | booking | reports | failover)
        selected=("$1")
        shift
        ;;
    -*)
        selected=(rpc_overhead)
        ;;
    *)
        log "unknown benchmark \"$1\"; choose one of: ${all_benchmarks[*]} failover"
        exit 2
        ;;
    esac
fi
if [ -n "$workers" ] && ! [[ "$workers" =~ ^[1-9][0-9]{0,3}$ ]]; then
    log "CLINIC_BENCH_WORKERS must be a whole number from 1 to 9999, not \"$workers\""
    exit 2
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLINIC_TESTS=OFF >/dev/null
if [[ " ${selected[*]} " == " failover " ]] && [ ! -x /usr/bin/pg_autoctl ]; then
    log "failover needs pg_auto_failover (/usr/bin/pg_autoctl): run bash scripts/install-deps.sh"
    exit 2
fi
cmake --build "$build" -j2 --target clinicd clinic_cli clinic_gateway "${all_benchmarks[@]}" >/dev/null

# A loopback port that nothing answers on right now (bash's /dev/tcp, no extra tools). Another
# program could still take it before clinicd does; clinicd then fails to start and says so below.
free_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    log "no free loopback port found"
    return 1
}

workdir=$(mktemp -d /tmp/clinic-bench.XXXXXX)
chmod 755 "$workdir"
daemon_pid=""
second_pid=""

# Stops a daemon by SIGTERM, then SIGKILL past stop_timeout_s.
stop_daemon() {
    local pid=$1
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for _ in $(seq 1 $((stop_timeout_s * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    # the failover formation's daemon, then the formation (its folder is inside $workdir)
    if [ -n "$ha_pid" ]; then
        stop_daemon "$ha_pid"
    fi
    if [ -n "$ha_dir" ]; then
        CLINIC_HA_DIR="$ha_dir" bash "$root/scripts/ha.sh" down >/dev/null 2>&1 || true
    fi
    if [ -n "$gateway_pid" ]; then
        stop_daemon "$gateway_pid"
    fi
    # the second daemon first: it shares the first one's PostgreSQL
    if [ -n "$second_pid" ]; then
        stop_daemon "$second_pid"
    fi
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid"
        # clinicd answers calls in flight, then stops its PostgreSQL; give it a bounded time.
        for _ in $(seq 1 $((stop_timeout_s * 10))); do
            kill -0 "$daemon_pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$daemon_pid" 2>/dev/null; then
            log "clinicd did not stop within ${stop_timeout_s} s of SIGTERM; killing it"
            kill -KILL "$daemon_pid" 2>/dev/null || true
        fi
        wait "$daemon_pid" 2>/dev/null || true
    fi
    # At --log-level warn the log stays empty unless something went wrong: then show it.
    if [ -s "$workdir/clinicd.log" ]; then
        log "clinicd's log:"
        cat "$workdir/clinicd.log" >&2
    fi
    rm -rf "$workdir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rpc_port=$(free_port)
events_port=$(free_port)
while [ "$events_port" = "$rpc_port" ]; do
    events_port=$(free_port)
done
url="tcp://127.0.0.1:$rpc_port"
# The embedded cluster listens only on a Unix socket in DATA/run; clinicd's role is clinicd.
database="postgresql:///clinic?host=$workdir/data/run&user=clinicd"

# --log-level warn: at info clinicd writes one line per call, which would dominate the figures.
workers_option=()
workers_shown="clinicd's default, 2 per core: $((2 * $(getconf _NPROCESSORS_ONLN)))"
if [ -n "$workers" ]; then
    workers_option=(--workers "$workers")
    workers_shown="$workers"
fi
"$bin/clinicd" --data-dir "$workdir/data" --listen "$url" \
    --events "tcp://127.0.0.1:$events_port" "${workers_option[@]}" --log-level warn \
    >"$workdir/clinicd.log" 2>&1 &
daemon_pid=$!

# Wait until it serves (first start runs initdb and the migrations), or give up with its log.
deadline=$((SECONDS + startup_timeout_s))
until "$bin/clinic" --url "$url" --timeout 1000 health >/dev/null 2>&1; do
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
        log "clinicd exited during start-up (its log follows)"
        exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
        log "clinicd did not answer health within ${startup_timeout_s} s (its log follows)"
        exit 1
    fi
    sleep 0.2
done

echo "# clinicd $url: a fresh embedded PostgreSQL $(/usr/bin/pg_config --version 2>/dev/null |
    sed 's/^PostgreSQL //'), --workers $workers_shown, --log-level warn"

# Waits until the daemon at $1 (process $2, log $3) serves, or gives up with its log.
wait_serving() {
    local deadline=$((SECONDS + startup_timeout_s))
    until "$bin/clinic" --url "$1" --timeout 1000 health >/dev/null 2>&1; do
        if ! kill -0 "$2" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            log "the clinicd on $1 did not start (its log follows)"
            cat "$3" >&2
            return 1
        fi
        sleep 0.2
    done
}

# Scheduling calls need a token: an admin created in the database $2 logs in once through the
# daemon $1, and libclinic sends CLINIC_TOKEN with every call of slots and booking. Prints the
# token; its files go under the folder $3.
admin_token() {
    local password
    password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    if ! printf '%s\n' "$password" | "$bin/clinicd" bootstrap-admin --email bench@clinic.invalid \
        --name "Benchmark" --database "$2" >"$3/bootstrap.log" 2>&1; then
        log "could not create the benchmark's admin account:"
        cat "$3/bootstrap.log" >&2
        return 1
    fi
    mkdir -p "$3/config"
    if ! printf '%s\n' "$password" | XDG_CONFIG_HOME="$3/config" "$bin/clinic" \
        --url "$1" login --email bench@clinic.invalid --password-file - >/dev/null; then
        log "could not log in as the benchmark's admin"
        return 1
    fi
    head -n 1 "$3/config/clinic/token"
}

# rpc_overhead's Health/Check needs no token and gets none, so its figures stay the bare call's.
token=""
if [[ " ${selected[*]} " != " rpc_overhead " ]]; then
    token=$(admin_token "$url" "$database" "$workdir")
fi

# booking also measures two daemons on the one database against one: a second clinicd on the
# first one's PostgreSQL, with the same workers, publishing no events of its own.
second_url=""
if [[ " ${selected[*]} " == *" booking "* ]]; then
    second_url="tcp://127.0.0.1:$(free_port)"
    "$bin/clinicd" --database "$database" --listen "$second_url" --events "" \
        "${workers_option[@]}" --log-level warn >"$workdir/clinicd-2.log" 2>&1 &
    second_pid=$!
    wait_serving "$second_url" "$second_pid" "$workdir/clinicd-2.log"
    # and Book through clinic-gateway (JSON over HTTP, driven by wrk) against Book through libclinic
    gateway_url="http://127.0.0.1:$(free_port)"
    "$bin/clinic-gateway" --listen "${gateway_url#http://}" --url "$url" \
        >"$workdir/gateway.log" 2>&1 &
    gateway_pid=$!
    gateway_port=${gateway_url##*:}
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$gateway_port") 2>/dev/null && break
        kill -0 "$gateway_pid" 2>/dev/null || { cat "$workdir/gateway.log" >&2; exit 1; }
        sleep 0.1
    done
fi

# The Book calls per second at 16 callers in booking's output (its row for 16 callers).
book_rate() { awk '$1 == "16" && NF == 6 { print $2 }' "$1"; }

# failover: the same booking run (16 callers, one round, unless told otherwise) against the
# embedded PostgreSQL and then against a daemon on a pg_auto_failover formation (scripts/ha.sh,
# every node on this machine: the primary commits only once its synchronous secondary has the
# WAL), and the two rates side by side. The formation lives in $workdir/ha.
run_failover() {
    local one="$workdir/failover-one.out" ha="$workdir/failover-ha.out" ha_url ha_token daemon
    local options=(--callers 16 --rounds 1 "$@")
    echo "# the embedded single PostgreSQL:"
    CLINIC_TOKEN="$token" "$bin/booking" --url "$url" --database "$database" "${options[@]}" |
        tee "$one" || return 1
    ha_dir="$workdir/ha"
    echo "# starting a formation (monitor, primary, synchronous secondary) in $ha_dir"
    if ! CLINIC_HA_DIR="$ha_dir" bash "$root/scripts/ha.sh" up >"$workdir/ha.log" 2>&1; then
        log "the formation did not start:"
        cat "$workdir/ha.log" >&2
        return 1
    fi
    ha_url=$(CLINIC_HA_DIR="$ha_dir" bash "$root/scripts/ha.sh" url)
    daemon="tcp://127.0.0.1:$(free_port)"
    "$bin/clinicd" --database "$ha_url" --listen "$daemon" --events "" "${workers_option[@]}" \
        --log-level warn >"$workdir/clinicd-ha.log" 2>&1 &
    ha_pid=$!
    wait_serving "$daemon" "$ha_pid" "$workdir/clinicd-ha.log" || return 1
    mkdir -p "$workdir/ha-admin"
    ha_token=$(admin_token "$daemon" "$ha_url" "$workdir/ha-admin") || return 1
    echo "# the formation ($ha_url):"
    CLINIC_TOKEN="$ha_token" "$bin/booking" --url "$daemon" --database "$ha_url" "${options[@]}" |
        tee "$ha" || return 1
    local rate_one rate_ha
    rate_one=$(book_rate "$one")
    rate_ha=$(book_rate "$ha")
    if [ -z "$rate_one" ] || [ -z "$rate_ha" ]; then
        log "no 16-caller figure in booking's output (give --callers with 16 in it)"
        return 1
    fi
    awk -v one="$rate_one" -v ha="$rate_ha" 'BEGIN {
        printf "Book at 16 callers: one PostgreSQL %d/s, failover formation (synchronous secondary) %d/s: %.2f of it\n", one, ha, ha / one }'
}

# Every selected benchmark runs even when an earlier one failed; the exit status says so.
failed=()
for name in "${selected[@]}"; do
    echo
    echo "## $name"
    args=(--url "$url")
    env_token=()
    if [ "$name" != rpc_overhead ]; then
        args+=(--database "$database")
        env_token=(CLINIC_TOKEN="$token")
    fi
    if [ "$name" = failover ]; then
        run_failover "$@" || failed+=("$name")
        continue
    fi
    if [ "$name" = booking ]; then
        args+=(--second-url "$second_url" --gateway "$gateway_url")
    fi
    if ! env "${env_token[@]}" "$bin/$name" "${args[@]}" "$@"; then
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    log "failed: ${failed[*]} (see above)"
    exit 1
fi
