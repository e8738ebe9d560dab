#!/usr/bin/env bash
# run_target.sh: runs one libFuzzer target over a fresh copy of its seed corpus, for a bounded
# time or number of inputs. ctest's fuzz tests and scripts/fuzz.sh both call it.
#
#   run_target.sh FUZZER WORK_DIR BUDGET [LIBFUZZER FLAG...] -- SEED_DIR...
#
# BUDGET is seconds (30) or a number of inputs (runs=1000000). WORK_DIR is emptied, then holds
# corpus/ (the seeds, and what the run adds), the crash, leak or timeout inputs libFuzzer writes
# (crash-*, leak-*, timeout-*, oom-*) and log (libFuzzer's output). Exit status: libFuzzer's, so
# 0 when nothing was found; a finding prints the end of the log.
set -euo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 FUZZER WORK_DIR SECONDS|runs=N [LIBFUZZER FLAG...] -- SEED_DIR..." >&2
    exit 2
fi
fuzzer="$1" work="$2" budget="$3"
shift 3
flags=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
    flags+=("$1")
    shift
done
[[ $# -gt 0 ]] && shift

case "$budget" in
runs=[0-9]*) limit=(-runs="${budget#runs=}") ;;
[0-9]*) limit=(-max_total_time="$budget") ;;
*)
    echo "$0: the budget is seconds or runs=N, not \"$budget\"" >&2
    exit 2
    ;;
esac

rm -rf "$work"
mkdir -p "$work/corpus"
for seeds in "$@"; do
    if [[ -d "$seeds" ]]; then
        find "$seeds" -maxdepth 1 -type f -exec cp {} "$work/corpus/" \;
    fi
done

# -timeout: one input taking 10 s is a hang; -rss_limit_mb: the stand-ins and the targets need
# well under 2 GiB even under ASan, so more is a leak or a runaway allocation.
status=0
"$fuzzer" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "${flags[@]}" "$work/corpus" >"$work/log" 2>&1 || status=$?
if [[ $status -ne 0 ]]; then
    echo "== $(basename "$fuzzer") found something (exit status $status); the end of $work/log:"
    tail -n 60 "$work/log"
fi
grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec)|^#[0-9]+ +DONE' \
    "$work/log" || true
exit "$status"
