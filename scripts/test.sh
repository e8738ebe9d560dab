#!/usr/bin/env bash
# test.sh: the whole test suite. Installs what is missing, builds, runs every test (unit,
# integration, schema) under ctest, then builds again with AddressSanitizer and
# UndefinedBehaviorSanitizer in a second build folder and runs the suite there too.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs="$(nproc)"

run_suite() { # build-folder, extra cmake arguments...
    local dir="$1"
    shift
    echo "== building in $dir $*"
    cmake -S . -B "$dir" -DCLINIC_TESTS=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
    echo "== testing in $dir"
    (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 600)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
# halt_on_error keeps a sanitizer report from scrolling by; leaks fail the daemon's exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DCLINIC_SANITIZE=ON
echo "== all tests passed in build and build-asan"
