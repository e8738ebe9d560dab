#!/usr/bin/env bash
# deb-check.sh [BUILD_DIR]: builds the .deb with CPack and proves it on this machine the way an
# operator would use it: checks the package's control fields (its Depends as dpkg-shlibdeps
# derived them, plus the PostgreSQL server), installs it with apt-get (which resolves what it
# depends on), checks that the files and the clinicd user are there, starts the INSTALLED
# /usr/sbin/clinicd as the clinicd user on its packaged data folder /var/lib/clinicd (no systemd
# in a chroot: run directly; its embedded PostgreSQL then runs as clinicd too) on free ports,
# asks the installed /usr/bin/clinic for its health, stops it, and purges the package again.
#
# CI runs it in the fresh Debian 12 root after the test suite (scripts/ci-fresh-root.sh), with
# BUILD_DIR build-release so that nothing is compiled twice; by default it builds in build-deb.
# Needs root (apt-get). It refuses a machine where clinicd is installed already or where
# /var/lib/clinicd exists: purging the package deletes that folder.
set -euo pipefail
cd "$(dirname "$0")/.."

build="${1:-build-deb}"
case "$build" in /*) ;; *) build="$PWD/$build" ;; esac
data=/var/lib/clinicd
log=
daemon=

say() { echo "deb-check: $*"; }
fail() { say "FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    say "needs root (apt-get install); run it as root" >&2
    exit 2
fi
if /usr/bin/dpkg-query -W -f='${Status}' clinicd 2>/dev/null | grep -q 'installed'; then
    fail "the clinicd package is installed already; remove it first (apt-get remove --purge clinicd)"
fi
if [ -e "$data" ]; then
    fail "$data exists: purging the package would delete it; run this on a machine without a clinic (CI's fresh root)"
fi

cleanup() {
    if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then
        kill -TERM "$daemon" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$daemon" 2>/dev/null || break; sleep 1; done
        kill -KILL "$daemon" 2>/dev/null || true
    fi
    if /usr/bin/dpkg-query -W -f='${Status}' clinicd 2>/dev/null | grep -q 'installed'; then
        DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q clinicd >/dev/null 2>&1 || true
    fi
    [ -z "$log" ] || rm -f "$log"
}
trap cleanup EXIT

# --- build the package: configured for /usr, where the units say clinicd is ---
say "building the .deb in $build"
/usr/bin/cmake -S . -B "$build" -DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_BUILD_TYPE=Release \
    -DCLINIC_WERROR=ON >/dev/null
/usr/bin/cmake --build "$build" -j"$(nproc)" >/dev/null
rm -f "$build"/clinicd_*.deb
(cd "$build" && /usr/bin/cpack -G DEB >/dev/null)
deb="$(ls "$build"/clinicd_*.deb)"
say "built $deb"

# --- its control fields ---
field() { /usr/bin/dpkg-deb -f "$deb" "$1"; }
depends="$(field Depends)"
say "Depends: $depends"
for want in 'postgresql-15 | postgresql' adduser libc6 libnng1 libpq5 libprotobuf-c1 libsodium23 \
    libjansson4 libsystemd0 libcurl4 libmicrohttpd12 libical3; do
    grep -qF -- "$want" <<<"$depends" || fail "Depends lacks $want"
done
! grep -qE -- '-dev\b' <<<"$depends" || fail "Depends names a -dev package: $depends"
[ "$(field Package)" = clinicd ] || fail "Package is $(field Package)"
[ "$(field Section)" = net ] || fail "Section is '$(field Section)'"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
grep -q 'massage-therapy clinic' <<<"$(field Description)" || fail "no Description"
contents="$(/usr/bin/dpkg-deb -c "$deb")"
grep -q ' ./usr/sbin/clinicd$' <<<"$contents" || fail "the package has no /usr/sbin/clinicd"

# --- install it; apt resolves its dependencies ---
say "installing it with apt-get"
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$deb" >/dev/null
for f in /usr/sbin/clinicd /usr/bin/clinic /usr/bin/clinic-gateway \
    /usr/lib/systemd/system/clinicd.service /usr/lib/systemd/system/clinicd@.service \
    /usr/lib/sysusers.d/clinicd.conf /usr/share/man/man8/clinicd.8.gz /usr/share/man/man1/clinic.1.gz \
    /usr/share/bash-completion/completions/clinic /usr/share/doc/clinicd/clinicd.env.example \
    /usr/include/clinic/clinic.h; do
    [ -e "$f" ] || [ -e "${f%.gz}" ] || fail "$f is not installed"
done
grep -qx 'ExecStart=/usr/sbin/clinicd' /usr/lib/systemd/system/clinicd.service ||
    fail "clinicd.service does not run /usr/sbin/clinicd"
getent passwd clinicd >/dev/null || fail "the postinst made no clinicd user"
[ "$(stat -c %U "$data")" = clinicd ] || fail "$data is not the clinicd user's"
/usr/bin/pkg-config --exists clinic || fail "pkg-config does not find the installed clinic.pc"

# --- run the installed daemon as the clinicd user ---
say "starting /usr/sbin/clinicd as clinicd on $data"
log="$(mktemp)"
chmod 0644 "$log"
(cd / && exec /usr/bin/setpriv --reuid=clinicd --regid=clinicd --init-groups \
    /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    /usr/sbin/clinicd --data-dir "$data" --listen tcp://127.0.0.1:0 --events tcp://127.0.0.1:0 \
    --workers 2) >"$log" 2>&1 &
daemon=$!
url=
for _ in $(seq 1 240); do
    url="$(sed -n 's/.* ready on \(tcp:\/\/[0-9.]*:[0-9]*\);.*/\1/p' "$log")"
    [ -n "$url" ] && break
    kill -0 "$daemon" 2>/dev/null || { cat "$log"; fail "the installed clinicd exited"; }
    sleep 0.5
done
[ -n "$url" ] || { cat "$log"; fail "the installed clinicd was not ready within 2 minutes"; }
[ "$(stat -c %U "$data/pgdata")" = clinicd ] || fail "the embedded cluster is not the clinicd user's"
say "asking /usr/bin/clinic --url $url health"
/usr/bin/clinic --url "$url" health || { cat "$log"; fail "clinic health did not say SERVING"; }
kill -TERM "$daemon"
rc=0
wait "$daemon" || rc=$?
daemon=
[ "$rc" -eq 0 ] || { cat "$log"; fail "clinicd exited $rc on SIGTERM"; }
grep -q 'PostgreSQL stopped' "$log" || { cat "$log"; fail "clinicd did not stop its PostgreSQL"; }

# --- purge ---
say "purging the package"
DEBIAN_FRONTEND=noninteractive apt-get remove --purge -y -q clinicd >/dev/null
[ ! -e /usr/sbin/clinicd ] || fail "/usr/sbin/clinicd is still there after purging"
[ ! -e "$data" ] || fail "$data is still there after purging"
say "ok: the .deb installs, its clinicd serves as the clinicd user, and it purges cleanly"
