#!/usr/bin/env bash
# bench.sh: builds a Release tree in build-bench/, starts a private clinicd on its embedded
# PostgreSQL on free loopback ports, runs the benchmarks against it and takes it all down.
#
#   bash scripts/bench.sh                      rpc_overhead, slots and booking, with defaults
#   bash scripts/bench.sh NAME [options]       one of them with its own options, e.g.
#                                              bash scripts/bench.sh booking --seconds 10
#   bash scripts/bench.sh [rpc_overhead options]   as before: rpc_overhead alone
#
# Each program prints its own --help. booking and slots get the daemon's database
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
all_benchmarks=(rpc_overhead slots booking)

log() { echo "bench: $*" >&2; }

# Which benchmarks, with which options: a name first selects one; options alone go to
# rpc_overhead (what this script ran before it knew other benchmarks); nothing runs them all.
selected=("${all_benchmarks[@]}")
if [ $# -gt 0 ]; then
    case "$1" in
    rpc_overhead | slots | booking)
        selected=("$1")
        shift
        ;;
    -*)
        selected=(rpc_overhead)
        ;;
    *)
        log "unknown benchmark \"$1\"; choose one of: ${all_benchmarks[*]}"
        exit 2
        ;;
    esac
fi
if [ -n "$workers" ] && ! [[ "$workers" =~ ^[1-9][0-9]{0,3}$ ]]; then
    log "CLINIC_BENCH_WORKERS must be a whole number from 1 to 9999, not \"$workers\""
    exit 2
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLINIC_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target clinicd clinic_cli "${all_benchmarks[@]}" >/dev/null

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

cleanup() {
    local status=$?
    # the second daemon first: it shares the first one's PostgreSQL
    if [ -n "$second_pid" ] && kill -0 "$second_pid" 2>/dev/null; then
        kill -TERM "$second_pid"
        for _ in $(seq 1 $((stop_timeout_s * 10))); do
            kill -0 "$second_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$second_pid" 2>/dev/null || true
        wait "$second_pid" 2>/dev/null || true
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

# Scheduling calls need a token: an admin created for this cluster logs in once, and libclinic
# sends CLINIC_TOKEN with every call of slots and booking. rpc_overhead's Health/Check needs
# none and gets none, so its figures stay those of the bare call.
token=""
if [[ " ${selected[*]} " != " rpc_overhead " ]]; then
    bench_email="bench@clinic.invalid"
    bench_password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
    if ! printf '%s\n' "$bench_password" | "$bin/clinicd" bootstrap-admin --email "$bench_email" \
        --name "Benchmark" --database "$database" >"$workdir/bootstrap.log" 2>&1; then
        log "could not create the benchmark's admin account:"
        cat "$workdir/bootstrap.log" >&2
        exit 1
    fi
    mkdir -p "$workdir/config"
    if ! printf '%s\n' "$bench_password" | XDG_CONFIG_HOME="$workdir/config" "$bin/clinic" \
        --url "$url" login --email "$bench_email" --password-file - >/dev/null; then
        log "could not log in as the benchmark's admin"
        exit 1
    fi
    token=$(head -n 1 "$workdir/config/clinic/token")
fi

# booking also measures two daemons on the one database against one: a second clinicd on the
# first one's PostgreSQL, with the same workers, publishing no events of its own.
second_url=""
if [[ " ${selected[*]} " == *" booking "* ]]; then
    second_url="tcp://127.0.0.1:$(free_port)"
    "$bin/clinicd" --database "$database" --listen "$second_url" --events "" \
        "${workers_option[@]}" --log-level warn >"$workdir/clinicd-2.log" 2>&1 &
    second_pid=$!
    deadline=$((SECONDS + startup_timeout_s))
    until "$bin/clinic" --url "$second_url" --timeout 1000 health >/dev/null 2>&1; do
        if ! kill -0 "$second_pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
            log "the second clinicd did not start (its log follows)"
            cat "$workdir/clinicd-2.log" >&2
            exit 1
        fi
        sleep 0.2
    done
fi

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
    if [ "$name" = booking ]; then
        args+=(--second-url "$second_url")
    fi
    if ! env "${env_token[@]}" "$bin/$name" "${args[@]}" "$@"; then
        failed+=("$name")
    fi
done
if [ ${#failed[@]} -gt 0 ]; then
    log "failed: ${failed[*]} (see above)"
    exit 1
fi
