#!/bin/sh
# Runs every unit test binary and every integration script, then prints one
# line "N passed, N failed" summed over all of them. Each runner's own last
# line is "N passed, N failed"; a runner that crashes or prints no such line
# counts as one failure.
# Env: O (object dir, default build), BINDIR (programs, default bin),
#      TESTS (space-separated subset of runner names to run).
#
# The runners marked real below run on a real Apache Kafka cluster: one
# 3-node KRaft cluster with a SASL_SSL listener (scripts/kafka.sh run
# --nodes 3 --security), started once for all of them, its cluster.env in
# $SWEEP_TEST_KAFKA_ENV. If it cannot start (no Java, Maven or network for
# the first download), those runners fail: they are not skipped.
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
kpid=""
# shellcheck disable=SC2317 # the trap calls it
cleanup() {
    rm -f "$log"
    if [ -n "$kpid" ]; then # the cluster stops its nodes on SIGTERM
        kill -TERM "$kpid" 2>/dev/null
        wait "$kpid" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

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

# Runners that need the real cluster (their own files, or a file of the
# embedded broker's run again with IT_KAFKA=real).
REAL_ONLY=" test_kafka_real test_kafka_security test_kafka_cluster "

wanted() {
    [ -z "${TESTS:-}" ] && return 0
    case " $TESTS " in *" $1 "*) return 0 ;; esac
    return 1
}

for t in "$O"/tests/test_*; do
    [ -x "$t" ] || continue
    run_one "$(basename "$t")" "$t"
done
for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    case $REAL_ONLY in *" $(basename "$t" .sh) "*) continue ;; esac
    run_one "$(basename "$t" .sh)" sh "$t"
done

# ---- on a real Kafka cluster ----
need_real=0
for n in test_kafka_cluster test_runtime_kafka test_earlystop_kafka test_kafka_real \
    test_kafka_security; do
    wanted "$n" && need_real=1
done
if [ "$need_real" = 1 ]; then
    # First the script's own test: it starts and kills clusters of its own.
    run_one test_kafka_cluster sh tests/integration/test_kafka_cluster.sh
    kdir=$(mktemp -d "${TMPDIR:-/tmp}/sweep-test-kafka.XXXXXX")
    echo "== starting a 3-node Kafka cluster for the next runners"
    t0=$(date +%s)
    sh scripts/kafka.sh run --nodes 3 --security --dir "$kdir/c" >"$kdir/out" 2>"$kdir/err" &
    kpid=$!
    i=0
    while [ $i -lt 1800 ] && kill -0 "$kpid" 2>/dev/null; do
        head -n 1 "$kdir/out" 2>/dev/null | grep -q '^127.0.0.1:' && break
        sleep 0.1
        i=$((i + 1))
    done
    if head -n 1 "$kdir/out" 2>/dev/null | grep -q '^127.0.0.1:'; then
        echo "   $(head -n 1 "$kdir/out") (Kafka $(sed -n 's/^KAFKA_VERSION=//p' "$kdir/c/cluster.env" | tr -d "'\""), up in $(($(date +%s) - t0)) s)"
        SWEEP_TEST_KAFKA_ENV=$kdir/c/cluster.env
    else
        echo "!! the Kafka cluster did not start; every runner on it fails:"
        tail -n 20 "$kdir/err" | sed 's/^/   | /'
        SWEEP_TEST_KAFKA_ENV=$kdir/none
    fi
    export SWEEP_TEST_KAFKA_ENV
    run_one test_runtime_kafka env IT_KAFKA=real IT_ONLY="s1 s2 s3 s4 s14" \
        sh tests/integration/test_runtime.sh
    run_one test_earlystop_kafka env IT_KAFKA=real sh tests/integration/test_earlystop.sh
    run_one test_kafka_security sh tests/integration/test_kafka_security.sh
    # Last: it kills and restarts brokers of the cluster.
    run_one test_kafka_real sh tests/integration/test_kafka_real.sh
    kill -TERM "$kpid" 2>/dev/null
    wait "$kpid" 2>/dev/null
    kpid=""
    rm -rf "$kdir"
    unset SWEEP_TEST_KAFKA_ENV
fi

echo
[ -n "$failed_runners" ] && echo "failing:$failed_runners"
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
