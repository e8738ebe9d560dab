#!/usr/bin/env bash
# test.sh: the whole test suite, as developers run it and as CI runs it on a fresh Debian 12.
#   1. installs what is missing;
#   2. checks that every C file is formatted by the committed .clang-format;
#   3. builds Release with gcc, warnings as errors, and runs every test (unit, integration,
#      schema) under ctest;
#   4. runs the date-sensitive tests again one and three years ahead under libfaketime, so the
#      suite cannot quietly depend on today's date;
#   5. builds with clang, AddressSanitizer and UndefinedBehaviorSanitizer, and runs the suite there,
#      the libFuzzer targets included (each for 30 s over its seeds; scripts/fuzz.sh runs them long).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
jobs="$(nproc)"

# The tests whose answers depend on the calendar: booking rules against now(), clock changes,
# races and events on future days, session notes, therapists' hours and time off, and the
# isolation specs (they book in the next year).
dated_tests='(integration_test_(scheduling_rules|dst|booking_races|events|events_discovery|notes|cli_clinical|cli_scheduling|admin_therapists|time_zones|day_sheet|life_cycle|calendar_feeds|care|measures|mail_outbox|waitlist|reports|billing)|isolation_.*)$'

check_format() {
    echo "== checking the format of every C file"
    find bench clients common daemon tests -name '*.[ch]' -print0 |
        xargs -0 /usr/bin/clang-format --dry-run --Werror
}

build() { # build-folder, extra cmake arguments...
    local dir="$1"
    shift
    echo "== building in $dir $*"
    cmake -S . -B "$dir" -DCLINIC_TESTS=ON -DCLINIC_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs"
}

run_tests() { # build-folder, extra ctest arguments...
    local dir="$1"
    shift
    (cd "$dir" && ctest -j"$jobs" --output-on-failure --timeout 600 "$@")
}

run_ahead() { # build-folder, libfaketime offset such as +365d
    echo "== testing in $1 with the clock moved $2"
    # -m: the multi-threaded libfaketime (the daemon and nng use threads); the monotonic clock
    # keeps its pace so nng's timers and the tests' deadlines are undisturbed.
    /usr/bin/faketime -m --exclude-monotonic -f "$2" \
        /bin/bash -c 'echo "the clock now reads $(/usr/bin/date -u +%FT%TZ)" && cd "$1" && ctest -j"$2" --output-on-failure --timeout 600 -R "$3"' \
        run_ahead "$1" "$jobs" "$dated_tests"
}

check_format

build build-release -DCMAKE_BUILD_TYPE=Release
echo "== testing in build-release"
run_tests build-release
run_ahead build-release +365d
run_ahead build-release +1095d

# halt_on_error keeps a sanitizer report from scrolling by; leaks fail the daemon's exit status.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
build build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=/usr/bin/clang -DCLINIC_SANITIZE=ON \
    -DCLINIC_FUZZ=ON
echo "== testing in build-asan"
run_tests build-asan
echo "== all tests passed: format, build-release (today, +365d, +1095d) and build-asan"
