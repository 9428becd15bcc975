#!/usr/bin/env bash
# Runs each libFuzzer harness for SECONDS on a scratch copy of its committed
# corpus and regressions (the committed files are never written), prints the
# executions and exec/s from libFuzzer's final stats, and fails when any
# harness crashes, leaks, times out or trips a sanitizer. `make fuzz` calls it.
# usage: run.sh BINDIR SECONDS NAME...
set -uo pipefail
BIN=${1:?usage: run.sh BINDIR SECONDS NAME...}
SECS=${2:?usage: run.sh BINDIR SECONDS NAME...}
shift 2
SRC=$(cd "$(dirname "$0")" && pwd)
OUT=$(cd "$BIN" && pwd)/findings
SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/rxl-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
mkdir -p "$OUT"

stat_of() { awk -v k="stat::$1:" '$1 == k {print $2}' "$2" | tail -1; }

failed=""
summary=""
for name in "$@"; do
    exe="$BIN/fuzz_$name"
    work="$SCRATCH/$name"
    rm -rf "${OUT:?}/$name" # findings of an earlier run
    mkdir -p "$work/corpus" "$work/regress" "$OUT/$name"
    cp "$SRC/corpus/$name/"* "$work/corpus/"
    if [ -d "$SRC/regress/$name" ]; then
        cp "$SRC/regress/$name/"* "$work/regress/" 2>/dev/null || true
    fi
    seeds=$(($(ls "$work/corpus" | wc -l) + $(ls "$work/regress" | wc -l)))
    echo "== fuzz_$name: ${SECS}s from $seeds seeds"
    # -close_fd_mask=3: the harness's own output (usage errors) is dropped;
    # libFuzzer and the sanitizers keep theirs. Findings go to findings/NAME/.
    "$exe" -max_total_time="$SECS" -print_final_stats=1 -close_fd_mask=3 -timeout=25 \
        -rss_limit_mb=2048 -artifact_prefix="$OUT/$name/" "$work/corpus" "$work/regress" \
        >"$work/log" 2>&1
    rc=$?
    runs=$(stat_of number_of_executed_units "$work/log")
    eps=$(stat_of average_exec_per_sec "$work/log")
    corp=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$work/log" | tail -1 | cut -d' ' -f2)
    cov=$(grep -o 'cov: [0-9]*' "$work/log" | tail -1 | cut -d' ' -f2)
    line=$(printf '%-14s %5ss %12s execs %8s exec/s  cov %6s  corpus %s -> %s' "fuzz_$name" \
        "$SECS" "${runs:-?}" "${eps:-?}" "${cov:-?}" "$seeds" "${corp:-?}")
    if [ "$rc" -ne 0 ]; then
        line="$line  FAILED (exit $rc)"
        failed="$failed fuzz_$name"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|artifact_prefix|Test unit written)|invariant broken' \
            "$work/log" | head -20
        cp "$work/log" "$OUT/$name/log"
        echo "   full log: $OUT/$name/log"
    fi
    echo "$line"
    summary="$summary$line"$'\n'
done

echo
echo "== fuzz summary (executions and exec/s from libFuzzer's final stats)"
printf '%s' "$summary"
if [ -n "$failed" ]; then
    echo "fuzz: findings in:$failed (inputs in $OUT)" >&2
    exit 1
fi
