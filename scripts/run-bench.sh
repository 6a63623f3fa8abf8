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

# run_script NAME: tests/bench/NAME.sh with the programs and build dir.
run_script() {
    echo "== $1"
    SWEEP_BIN=$(cd "${BINDIR:-bin}" && pwd) O=$O sh "tests/bench/$1.sh"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "!! $1 failed (exit $rc)"
        exit 1
    fi
}

# == bench_runtime: dispatch, metric ingest and memory of the distributed
# runtime (issue 3), and early termination's stop latency, metric line
# printed -> SIGTERM received (issue 5), each on a private
# broker/redis/controller/workers stack, each against a baseline measured
# in the same run; then (k) dispatch, ingest and stop latency once more on
# a real 3-node Kafka cluster (scripts/kafka.sh run --nodes 3, started and
# stopped by bench_runtime.sh; it needs Java, and Maven once for the
# jars), in one table with the embedded broker's figures of the same run.
# Takes a few minutes (10,000 runs for the memory table; the cluster's
# start and phase k add about a minute). A cluster that cannot start
# fails the bench, saying why.
run_script bench_runtime

# == bench_quality_local: bayes on branin end to end through `sweep local`
# (2 workers, 50 runs, 3 repeats), next to bench_quality's in-process
# figures (issue 4). Takes under a minute.
echo
run_script bench_quality_local
