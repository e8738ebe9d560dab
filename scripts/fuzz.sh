#!/usr/bin/env bash
# fuzz.sh: runs every libFuzzer target long, one after the other (one core), and prints per
# target the inputs run, inputs per second, corpus size, coverage (libFuzzer's cov: and ft:) and
# findings, then the total. Exit status 0 when nothing was found, 1 otherwise.
#
#   scripts/fuzz.sh [--build DIR] BUDGET [TARGET[=BUDGET]...]
#
# BUDGET is seconds per target (600) or inputs per target (runs=10000000); TARGET=BUDGET gives
# one target its own. Without targets, all of them (tests/fuzz/CMakeLists.txt lists them). The
# build folder (default build-asan, the clang ASan+UBSan build of scripts/test.sh) is configured
# and its fuzz targets built when needed. Each target starts from its seeds (tests/fuzz/corpus/,
# the generated ones) and what the last long run left in DIR/fuzz-corpus/, which this run then
# replaces. A finding leaves its input in DIR/fuzz-long/TARGET/ (crash-*, leak-*, timeout-*,
# oom-*) with libFuzzer's log beside it; reproduce with `DIR/bin/TARGET FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    echo "usage: $0 [--build DIR] SECONDS|runs=N [TARGET[=SECONDS|=runs=N]...]" >&2
    exit 2
}

build="build-asan"
if [[ "${1:-}" == "--build" ]]; then
    [[ $# -ge 2 ]] || usage
    build="$2"
    shift 2
fi
[[ $# -ge 1 ]] || usage
budget="$1"
shift
[[ "$budget" =~ ^([0-9]+|runs=[0-9]+)$ ]] || usage

manifest="$build/tests/fuzz/targets.txt"
if [[ ! -f "$build/CMakeCache.txt" ]]; then
    echo "== configuring $build (clang, ASan+UBSan, fuzz targets)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=/usr/bin/clang \
        -DCLINIC_SANITIZE=ON -DCLINIC_WERROR=ON -DCLINIC_FUZZ=ON >/dev/null
fi
if [[ ! -f "$manifest" ]]; then
    echo "$0: $build builds no fuzz targets (it needs clang and -DCLINIC_FUZZ=ON)" >&2
    exit 2
fi

declare -A program flags budgets
order=()
while IFS=$'\t' read -r name path target_flags; do
    program[$name]="$path"
    flags[$name]="$target_flags"
    order+=("$name")
done <"$manifest"

chosen=()
for arg in "$@"; do
    name="${arg%%=*}"
    if [[ -z "${program[$name]:-}" ]]; then
        echo "$0: no fuzz target $name (there are: ${order[*]})" >&2
        exit 2
    fi
    [[ "$arg" == *=* ]] && budgets[$name]="${arg#*=}"
    chosen+=("$name")
done
[[ ${#chosen[@]} -gt 0 ]] || chosen=("${order[@]}")

echo "== building ${chosen[*]}"
cmake --build "$build" -j"$(nproc)" --target "${chosen[@]}" fuzz_seeds >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
symbolizer=/usr/lib/llvm-14/bin/llvm-symbolizer
[[ -x "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH="${ASAN_SYMBOLIZER_PATH:-$symbolizer}"

report="$build/fuzz-long/report.txt"
mkdir -p "$build/fuzz-long" "$build/fuzz-corpus"
printf '%-18s %12s %9s %8s %7s %8s %8s  %s\n' target inputs inputs/s seconds corpus cov ft \
    findings | tee "$report"
total=0 found=0 started=$SECONDS
for name in "${chosen[@]}"; do
    work="$build/fuzz-long/$name" kept="$build/fuzz-corpus/$name"
    this_budget="${budgets[$name]:-$budget}"
    t0=$SECONDS
    status=0
    # shellcheck disable=SC2086 # the flags are words
    bash tests/fuzz/run_target.sh "${program[$name]}" "$work" "$this_budget" ${flags[$name]} -- \
        "tests/fuzz/corpus/$name" "$build/tests/fuzz/seeds/$name" "$kept" >/dev/null || status=$?
    log="$work/log"
    inputs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corpus=$(find "$work/corpus" -type f | wc -l)
    artifacts=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
        -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    if [[ $status -ne 0 || $artifacts -ne 0 ]]; then
        findings="$artifacts input(s), exit status $status: see $work"
        found=$((found + 1))
    else
        findings=none
    fi
    printf '%-18s %12s %9s %8s %7s %8s %8s  %s\n' "$name" "${inputs:-?}" "${rate:-?}" \
        "$((SECONDS - t0))" "$corpus" "${cov:-?}" "${ft:-?}" "$findings" | tee -a "$report"
    total=$((total + ${inputs:-0}))
    rm -rf "$kept"
    cp -r "$work/corpus" "$kept"
done
printf '%-18s %12s %9s %8s\n' total "$total" "" "$((SECONDS - started))" | tee -a "$report"
if [[ $found -ne 0 ]]; then
    echo "== $found target(s) found something; their logs and inputs are under $build/fuzz-long/"
    exit 1
fi
echo "== nothing found ($report)"
