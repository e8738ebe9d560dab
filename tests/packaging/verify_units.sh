#!/bin/bash
# verify_units.sh BUILD_DIR CLINICD: the systemd units as configured for installing pass
# `systemd-analyze verify` without a single complaint (an unknown or misspelt key is only a
# warning there, and a sandbox option systemd does not know would silently do nothing).
# ExecStart is pointed at the built clinicd, which verify wants to exist; the template is checked
# as an instance. Skipped (exit 77) only when systemd-analyze is not installed.
set -euo pipefail
build="$1"
clinicd="$2"
analyze=/usr/bin/systemd-analyze
if [ ! -x "$analyze" ]; then
    echo "SKIPPED: $analyze is missing (Debian package systemd); the units are not verified"
    exit 77
fi
dir="$(mktemp -d /tmp/clinic-units-XXXXXX)"
trap 'rm -rf "$dir"' EXIT
units="$build/packaging/systemd"
sed "s|^ExecStart=.*|ExecStart=$clinicd|" "$units/clinicd.service" >"$dir/clinicd.service"
sed "s|^ExecStart=.*|ExecStart=$clinicd|" "$units/clinicd@.service" >"$dir/clinicd@verify.service"
# the units as configured name the installed clinicd
grep -qx 'ExecStart=/.*/sbin/clinicd' "$units/clinicd.service" ||
    { echo "clinicd.service: ExecStart does not name an installed sbin/clinicd"; exit 1; }
grep -qx 'Type=notify' "$units/clinicd.service" || { echo "clinicd.service: not Type=notify"; exit 1; }
set +e
out="$(cd "$dir" && "$analyze" verify --man=no "$dir/clinicd.service" "$dir/clinicd@verify.service" 2>&1)"
rc=$?
set -e
# messages about other units (the machine's own) are not ours to fix
ours="$(grep -F "$dir/" <<<"$out" || true)"
if [ "$rc" -ne 0 ] || [ -n "$ours" ]; then
    echo "systemd-analyze verify (exit $rc):"
    echo "$out"
    exit 1
fi
echo "ok: clinicd.service and clinicd@.service verify cleanly"
