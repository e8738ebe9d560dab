#!/usr/bin/env bash
# ci-fresh-root.sh: proves the README on a machine that has nothing but Debian 12. In a pristine
# Debian 12 (bookworm, minbase) root made with debootstrap, with a fresh clone of this commit at
# /root/clinicd, as root, CI=true and no standard input, it runs
#   bash scripts/test.sh                 the README's test command, the whole suite;
#   bash scripts/deb-check.sh build-release
#                                        the .deb: built with cpack from the suite's Release tree,
#                                        its Depends checked, installed with apt-get, its
#                                        /usr/sbin/clinicd run as the clinicd user and asked for
#                                        its health by /usr/bin/clinic, then purged;
#   bash scripts/first-ten-minutes.sh    the README's first steps: run.sh answers `clinic health`,
#                                        then bootstrap-admin, login, demo load, slots, book.
# /proc and /dev are mounted in the root and unmounted afterwards, also on failure or timeout.
# It tests what is committed: uncommitted changes are not in the clone.
#
# The debootstrap root is kept as a tarball in $CLINIC_CI_CACHE (default /var/cache/clinicd-ci)
# and made again when older than a week, so that a run costs minutes; downloaded packages are
# kept there too (apt checks them; the root still installs everything itself).
# Needs root (debootstrap, chroot, mount). CI runs it through .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${CLINIC_CI_CACHE:-/var/cache/clinicd-ci}"
base="$cache/bookworm-minbase.tar"
time_limit_s="${CLINIC_CI_TIME_LIMIT_S:-4800}" # CI allows 90 minutes; leave room to clean up
clone=/root/clinicd
root=

say() { echo "ci-fresh-root: $*"; }

if [ "$(id -u)" -ne 0 ]; then
    say "needs root (debootstrap, chroot and mount); run it as root" >&2
    exit 2
fi

# The mirror the machine itself uses, so the root is made from the same place apt already reaches.
debian_mirror() {
    local uri=
    if [ -r /etc/apt/sources.list.d/debian.sources ]; then
        uri="$(awk '$1 == "URIs:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)"
    fi
    if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
        uri="$(awk '$1 == "deb" && $2 !~ /^\[/ && $3 ~ /^bookworm$/ { print $2; exit }' /etc/apt/sources.list)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

# What this script itself runs on the machine: debootstrap makes the root, git clones the commit
# into it (a machine that got the sources another way may lack it).
ensure_host_tools() {
    local missing=()
    [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
    [ -x /usr/bin/git ] || missing+=(git)
    [ ${#missing[@]} -eq 0 ] && return
    say "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
}

make_base() {
    local mirror staging
    mirror="$(debian_mirror)"
    staging="$(mktemp -d "$cache/base.XXXXXX")"
    chmod 755 "$staging" # the tarball's "." becomes the root's "/": mktemp's 0700 would lock out postgres
    say "making a Debian 12 minbase root from $mirror (once a week)"
    if ! /usr/sbin/debootstrap --variant=minbase bookworm "$staging" "$mirror" >"$cache/debootstrap.log" 2>&1; then
        rm -rf "$staging"
        say "debootstrap failed; see $cache/debootstrap.log" >&2
        exit 2
    fi
    tar -C "$staging" -cf "$base.new" . && mv "$base.new" "$base"
    rm -rf "$staging"
}

# Every process whose root is the fresh root (a daemon a failed step left behind) is killed, so
# that nothing keeps its mounts busy.
kill_inside() {
    local pid link
    for pid in /proc/[0-9]*; do
        link="$(readlink "$pid/root" 2>/dev/null)" || continue
        [ "$link" = "$root" ] && kill -KILL "${pid#/proc/}" 2>/dev/null
    done
    return 0
}

cleanup() {
    [ -n "$root" ] || return 0
    kill_inside
    sleep 1
    umount -R "$root/var/cache/apt/archives" 2>/dev/null || true
    umount -R "$root/dev" 2>/dev/null || umount -R -l "$root/dev" 2>/dev/null || true
    umount "$root/proc" 2>/dev/null || umount -l "$root/proc" 2>/dev/null || true
    # Only a root with nothing mounted inside is deleted: emptying a bind of /dev would wipe the
    # machine's devices.
    if grep -q " $root/" /proc/mounts; then
        say "left $root in place: something is still mounted inside it" >&2
    else
        rm -rf "$root"
    fi
}

mkdir -p "$cache/apt-archives"
ensure_host_tools
exec 9>"$cache/lock"
/usr/bin/flock 9 # one run at a time shares the cache
if [ ! -f "$base" ] || [ -n "$(find "$base" -mtime +6)" ]; then
    make_base
fi
exec 9>&-

commit="$(git rev-parse HEAD)"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
    say "note: uncommitted changes are not tested; the clone is of $commit"

trap cleanup EXIT
root="$(mktemp -d /var/tmp/clinicd-ci.XXXXXX)"
tar -C "$root" -xf "$base"
chmod 755 "$root" # also over a cached tarball whose "." kept mktemp's 0700: postgres must enter "/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
git clone -q --no-checkout "$PWD" "$root$clone"
git -C "$root$clone" checkout -q --detach "$commit"

mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --make-rslave "$root/dev"
mount -t tmpfs tmpfs "$root/dev/shm"
mount --bind "$cache/apt-archives" "$root/var/cache/apt/archives"

say "testing $commit in $root as root, CI=true, no standard input"
started=$SECONDS
set +e
/usr/bin/timeout --kill-after=30 "$time_limit_s" /usr/sbin/chroot "$root" /usr/bin/env -i \
    HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    CI=true TERM=dumb LANG=C.UTF-8 \
    /bin/bash -c "cd $clone && bash scripts/test.sh && bash scripts/deb-check.sh build-release &&
                  bash scripts/first-ten-minutes.sh" </dev/null
rc=$?
set -e
say "finished in $((SECONDS - started)) s with exit status $rc"
exit "$rc"
