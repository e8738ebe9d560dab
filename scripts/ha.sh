#!/usr/bin/env bash
# ha.sh: a pg_auto_failover formation on this machine, to try clinicd with failover: a monitor,
# a primary and a synchronous secondary, each a PostgreSQL of its own on a free loopback port,
# kept by pg_autoctl as the unprivileged user "postgres" (PostgreSQL refuses to run as root).
#
#   bash scripts/ha.sh up       creates and starts the formation (or starts it again); prints the
#                               URL to give clinicd: --database "$(bash scripts/ha.sh url)"
#   bash scripts/ha.sh status   pg_autoctl's view: which node is primary, which is secondary
#   bash scripts/ha.sh url      the formation's multi-host URL (target_session_attrs=read-write)
#   bash scripts/ha.sh standby-url
#                               the URL of the node that is secondary now (a hot standby), for
#                               clinicd --read-database
#   bash scripts/ha.sh primary  the data folder of the node that is primary now
#   bash scripts/ha.sh kill-primary
#                               kills the primary node as a machine that dies would go: its
#                               pg_autoctl keeper and its PostgreSQL, every process, kill -9
#                               (the secondary is promoted once the monitor gives up on it)
#   bash scripts/ha.sh down     stops it all and deletes the folder
#
# CLINIC_HA_DIR (default /var/lib/clinicd-ha) holds the nodes' data, logs, the ports chosen and
# pg_autoctl's own files (XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_RUNTIME_DIR), so that `down`
# leaves nothing behind.
# Every wait is bounded. On three machines the same steps run one per machine (README: "Running
# with failover").
set -euo pipefail
cd "$(dirname "$0")/.."

dir="${CLINIC_HA_DIR:-/var/lib/clinicd-ha}"
pg_user=postgres
autoctl=/usr/bin/pg_autoctl
database=clinic

die() { echo "ha.sh: $*" >&2; exit 1; }

# PostgreSQL's programs, by absolute path: the auto-failover package is built for PostgreSQL 15.
pg_bin=/usr/lib/postgresql/15/bin
[ -x "$pg_bin/pg_ctl" ] || die "no $pg_bin/pg_ctl; run: bash scripts/install-deps.sh"

# Runs pg_autoctl (or another command) as the PostgreSQL user, with everything it keeps in $dir.
as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        /usr/sbin/runuser -u "$pg_user" -- /usr/bin/env -i HOME="$dir" PATH="$pg_bin:/usr/bin:/bin" \
            XDG_CONFIG_HOME="$dir/config" XDG_DATA_HOME="$dir/share" XDG_RUNTIME_DIR="$dir/run" "$@"
    else
        /usr/bin/env HOME="$dir" PATH="$pg_bin:/usr/bin:/bin" XDG_CONFIG_HOME="$dir/config" \
            XDG_DATA_HOME="$dir/share" XDG_RUNTIME_DIR="$dir/run" "$@"
    fi
}

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_of() { sed -n "s/^$1=//p" "$dir/ports"; }

monitor_url() { echo "postgres://autoctl_node@localhost:$(port_of monitor)/pg_auto_failover?sslmode=disable"; }

# Starts `pg_autoctl run` for a node in the background unless it runs already.
run_node() {
    local name=$1
    if as_pg "$autoctl" status --pgdata "$dir/$name" >/dev/null 2>&1; then
        return
    fi
    as_pg /usr/bin/setsid "$autoctl" run --pgdata "$dir/$name" >>"$dir/$name.log" 2>&1 </dev/null &
}

# Waits (bounded) until the formation has a primary and a secondary.
wait_ready() {
    for _ in $(seq 1 120); do
        local state
        state=$(as_pg "$autoctl" show state --pgdata "$dir/monitor" 2>/dev/null || true)
        if echo "$state" | grep -q "| *primary | *primary$" &&
           echo "$state" | grep -q "| *secondary | *secondary$"; then
            return 0
        fi
        sleep 1
    done
    as_pg "$autoctl" show state --pgdata "$dir/monitor" >&2 || true
    die "the formation has no primary and secondary after 120 s; logs in $dir/*.log"
}

create() {
    mkdir -p "$dir" "$dir/run"
    chown "$pg_user" "$dir" "$dir/run" 2>/dev/null || true
    chmod 700 "$dir" "$dir/run"
    : >"$dir/ports"
    for name in monitor node1 node2; do
        echo "$name=$(free_port)" >>"$dir/ports"
    done
    chown "$pg_user" "$dir/ports" 2>/dev/null || true
    as_pg "$autoctl" create monitor --pgdata "$dir/monitor" --pgport "$(port_of monitor)" \
        --hostname localhost --listen localhost --auth trust --no-ssl --pgctl "$pg_bin/pg_ctl" \
        >>"$dir/monitor.log" 2>&1 || die "cannot create the monitor; see $dir/monitor.log"
    run_node monitor
    for name in node1 node2; do
        # the monitor must answer before a node registers with it
        for _ in $(seq 1 60); do
            as_pg "$pg_bin/pg_isready" -q -h localhost -p "$(port_of monitor)" && break
            sleep 1
        done
        as_pg "$autoctl" create postgres --pgdata "$dir/$name" --pgport "$(port_of "$name")" \
            --hostname localhost --listen localhost --name "$name" --auth trust --no-ssl \
            --dbname "$database" --monitor "$(monitor_url)" --pgctl "$pg_bin/pg_ctl" \
            >>"$dir/$name.log" 2>&1 || die "cannot create $name; see $dir/$name.log"
        run_node "$name"
    done
}

up() {
    if [ ! -f "$dir/ports" ]; then
        create
    else
        for name in monitor node1 node2; do run_node "$name"; done
    fi
    wait_ready
    echo "ha.sh: the formation is up in $dir; clinicd --database \"$(url)\""
}

# The formation's URL, as postgres (trust on loopback) and asking for the read-write node.
url() {
    local hosts
    hosts="localhost:$(port_of node1),localhost:$(port_of node2)"
    echo "postgres://$pg_user@$hosts/$database?target_session_attrs=read-write&connect_timeout=2"
}

# The port of the node in `role` (primary or secondary) now.
port_in_role() {
    as_pg "$autoctl" show state --pgdata "$dir/monitor" |
        awk -F'|' -v role="$1" '$6 ~ role && $7 ~ role {print $3}' | sed 's/.*://; s/ //g'
}

standby_url() {
    local port
    port=$(port_in_role secondary)
    [ -n "$port" ] || die "no secondary now"
    echo "postgres://$pg_user@localhost:$port/$database?connect_timeout=2"
}

primary() {
    local port name
    port=$(port_in_role primary)
    [ -n "$port" ] || die "no primary now"
    for name in node1 node2; do
        [ "$(port_of "$name")" = "$port" ] && echo "$dir/$name" && return 0
    done
    die "the primary's port $port is none of ours"
}

# Every process of the node in folder $1: its keeper (`pg_autoctl run`), the keeper's services,
# its postmaster and the postmaster's children.
node_pids() {
    local keeper postmaster
    keeper=$(pgrep -u "$pg_user" -f "pg_autoctl run --pgdata $1\$" || true)
    postmaster=$( [ -f "$1/postmaster.pid" ] && head -1 "$1/postmaster.pid" || true)
    for p in $keeper $postmaster; do
        echo "$p"
        pgrep -P "$p" || true
    done
}

kill_primary() {
    local node pids
    node=$(primary)
    pids=$(node_pids "$node")
    [ -n "$pids" ] || die "no process of $node to kill"
    # twice: a keeper's service may have started a child meanwhile
    kill -9 $pids 2>/dev/null || true
    pids=$(node_pids "$node")
    [ -z "$pids" ] || kill -9 $pids 2>/dev/null || true
    echo "ha.sh: killed $node (its keeper and PostgreSQL)"
}

down() {
    [ -d "$dir" ] || return 0
    for name in node2 node1 monitor; do
        [ -d "$dir/$name" ] && as_pg "$autoctl" stop --pgdata "$dir/$name" --immediate \
            >/dev/null 2>&1 || true
    done
    for _ in $(seq 1 30); do
        pgrep -u "$pg_user" -f "pg_autoctl run --pgdata $dir/" >/dev/null || break
        sleep 1
    done
    pkill -9 -u "$pg_user" -f "pg_autoctl run --pgdata $dir/" 2>/dev/null || true
    for name in node2 node1 monitor; do
        [ -f "$dir/$name/postmaster.pid" ] &&
            kill -9 "$(head -1 "$dir/$name/postmaster.pid")" 2>/dev/null || true
    done
    rm -rf -- "$dir"
    echo "ha.sh: stopped and removed $dir"
}

case "${1:-}" in
up) up ;;
down) down ;;
status) [ -f "$dir/ports" ] || die "no formation in $dir (bash scripts/ha.sh up)"
        as_pg "$autoctl" show state --pgdata "$dir/monitor" ;;
url) [ -f "$dir/ports" ] || die "no formation in $dir (bash scripts/ha.sh up)"; url ;;
primary) [ -f "$dir/ports" ] || die "no formation in $dir (bash scripts/ha.sh up)"; primary ;;
standby-url) [ -f "$dir/ports" ] || die "no formation in $dir (bash scripts/ha.sh up)"
             standby_url ;;
kill-primary) [ -f "$dir/ports" ] || die "no formation in $dir (bash scripts/ha.sh up)"
              kill_primary ;;
*) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
