#!/usr/bin/env bash
# bench.sh: builds a Release tree in build-bench/, starts a private clinicd on its embedded
# PostgreSQL on free loopback ports, runs bench/rpc_overhead against it and takes it all down.
#
#   bash scripts/bench.sh [rpc_overhead options, e.g. --seconds 5 --callers 1,4,16]
#
# Works as root: clinicd then runs its cluster as the unprivileged `postgres` user, which must be
# able to reach the data folder (hence chmod 755 on the temporary folder).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build="$root/build-bench"
bin="$build/bin"
startup_timeout_s=60
stop_timeout_s=30

log() { echo "bench: $*" >&2; }

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCLINIC_TESTS=OFF >/dev/null
cmake --build "$build" -j2 >/dev/null

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

cleanup() {
    local status=$?
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

# --log-level warn: at info clinicd writes one line per call, which would dominate the figures.
"$bin/clinicd" --data-dir "$workdir/data" --listen "$url" \
    --events "tcp://127.0.0.1:$events_port" --log-level warn >"$workdir/clinicd.log" 2>&1 &
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

"$bin/rpc_overhead" --url "$url" "$@"
