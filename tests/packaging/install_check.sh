#!/bin/bash
# install_check.sh BUILD_DIR SOURCE_DIR LIBDIR CC: `cmake --install` into a temporary prefix puts
# every file where it belongs (clinicd in sbin, the tools in bin, units, sysusers, the example
# settings, manual pages, completion, libclinic with its headers and clinic.pc), and a program of
# someone else's builds against the installed clinic.pc with pkg-config alone, links, and runs.
set -euo pipefail
build="$1"
source="$2"
libdir="$3"
cc="$4"
prefix="$(mktemp -d /tmp/clinic-install-XXXXXX)"
trap 'rm -rf "$prefix"' EXIT
fail() { echo "install_check: $*" >&2; exit 1; }

/usr/bin/cmake --install "$build" --prefix "$prefix" >"$prefix.log" 2>&1 ||
    { cat "$prefix.log"; rm -f "$prefix.log"; fail "cmake --install failed"; }
rm -f "$prefix.log"

for f in sbin/clinicd bin/clinic bin/clinic-gateway; do
    [ -x "$prefix/$f" ] || fail "$f is not installed (or not executable)"
done
[ ! -e "$prefix/bin/clinicd" ] || fail "clinicd is a daemon (section 8): sbin, not bin"
for f in lib/systemd/system/clinicd.service lib/systemd/system/clinicd@.service \
    lib/sysusers.d/clinicd.conf share/doc/clinicd/clinicd.env.example \
    share/man/man8/clinicd.8 share/man/man1/clinic.1 \
    share/bash-completion/completions/clinic share/clinicd/web/index.html \
    include/clinic/clinic.h include/clinic/status.h include/clinic/clinic/v1/health.pb-c.h \
    "$libdir/libclinic.a" "$libdir/libclinic_wire.a" "$libdir/pkgconfig/clinic.pc"; do
    [ -f "$prefix/$f" ] || fail "$f is not installed"
done
grep -q '^\.TH "clinicd" "8"' "$prefix/share/man/man8/clinicd.8" || fail "clinicd.8 is not a manual page"
grep -q '^\.TH "clinic" "1"' "$prefix/share/man/man1/clinic.1" || fail "clinic.1 is not a manual page"
grep -q '^complete -F _clinic clinic$' "$prefix/share/bash-completion/completions/clinic" ||
    fail "the completion does not register for clinic"
grep -q '^u clinicd ' "$prefix/lib/sysusers.d/clinicd.conf" || fail "sysusers.d declares no clinicd user"
"$prefix/sbin/clinicd" --version | grep -q '^clinicd ' || fail "the installed clinicd does not run"

# someone else's program, with pkg-config alone (and the build's compiler: a sanitizer build's
# libraries need the sanitizers' runtime, CLINIC_SANITIZE_FLAGS)
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
/usr/bin/pkg-config --exists --print-errors clinic
flags="$(/usr/bin/pkg-config --cflags --libs --static clinic)"
echo "pkg-config --cflags --libs --static clinic: $flags"
# the prefix is found from the file's place: nothing points back at the build
case "$flags" in *"$build"*) fail "clinic.pc points into the build folder" ;; esac
case "$flags" in *"-I$prefix/"*) ;; *) fail "clinic.pc's include folder is not under the prefix" ;; esac
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c17 -Wall -Wextra -Werror ${CLINIC_SANITIZE_FLAGS:-} -o "$prefix/use_libclinic" \
    "$source/tests/packaging/use_libclinic.c" $flags
# nothing listens on port 1: libclinic answers UNAVAILABLE itself
"$prefix/use_libclinic" tcp://127.0.0.1:1 UNAVAILABLE
echo "ok: installed into a temporary prefix; a program built with clinic.pc links and runs"
