#!/bin/sh
# Runs every unit test binary and every integration script, then prints one
# line "N passed, N failed" summed over all of them. Each runner's own last
# line is "N passed, N failed"; a runner that crashes or prints no such line
# counts as one failure.
# Env: O (object dir, default build), BINDIR (programs, default bin),
#      TESTS (space-separated subset of runner names to run).
set -u
O=${O:-build}
BINDIR=${BINDIR:-bin}
export O BINDIR
SWEEP_BIN=$(cd "$BINDIR" && pwd)
export SWEEP_BIN
cd "$(dirname "$0")/.." || exit 1

total_pass=0
total_fail=0
failed_runners=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run_one() {
    name=$1
    shift
    if [ -n "${TESTS:-}" ]; then
        case " $TESTS " in *" $name "*) ;; *) return 0 ;; esac
    fi
    echo "== $name"
    "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    last=$(grep -E '^([A-Za-z_]+: )?[0-9]+ passed, [0-9]+ failed' "$log" | tail -n 1)
    if [ -z "$last" ]; then
        echo "!! $name: exited $rc without a summary line"
        total_fail=$((total_fail + 1))
        failed_runners="$failed_runners $name"
        return
    fi
    p=$(echo "$last" | sed -E 's/^([A-Za-z_]+: )?([0-9]+) passed, ([0-9]+) failed.*/\2/')
    f=$(echo "$last" | sed -E 's/^([A-Za-z_]+: )?([0-9]+) passed, ([0-9]+) failed.*/\3/')
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "!! $name: exited $rc"
        f=1
    fi
    total_pass=$((total_pass + p))
    total_fail=$((total_fail + f))
    [ "$f" -gt 0 ] && failed_runners="$failed_runners $name"
}

for t in "$O"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t" .sh)" sh "$t"
done

echo
[ -n "$failed_runners" ] && echo "failing:$failed_runners"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
