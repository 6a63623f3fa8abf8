#!/bin/sh
# Runs every benchmark binary (O/bench/bench_*, built by `make bench`) from
# the repository root and prints its tables. Exits non-zero if any fails.
# Env: O (object dir, default build).
set -u
O=${O:-build}
cd "$(dirname "$0")/.." || exit 1

failed=""
ran=0
for b in "$O"/bench/bench_*; do
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then continue; fi
    case $b in *.d | *.o) continue ;; esac
    name=$(basename "$b")
    echo "== $name"
    "$b"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "!! $name failed (exit $rc)"
        failed="$failed $name"
    fi
    echo
    ran=$((ran + 1))
done
if [ "$ran" -eq 0 ]; then
    echo "no benchmarks in $O/bench (run make bench)" >&2
    exit 1
fi
if [ -n "$failed" ]; then
    echo "failing:$failed"
    exit 1
fi
