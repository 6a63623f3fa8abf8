#!/bin/sh
# bench_runtime.sh - benchmarks of the distributed runtime (issue 3):
# (a) dispatch, (b) metric ingest, (c) memory, and (issue 5) (d) early
# termination's stop latency, metric line printed -> SIGTERM received;
# each on a private stack (`sweep broker`, redis-server, sweep-controller,
# pool workers) and each against a baseline measured in the same run; and
# (k) a, b and d once more on a real 3-node Kafka cluster, side by side
# with the embedded broker. Prints markdown tables.
#
# Run from the repository root: sh tests/bench/bench_runtime.sh
# Env: SWEEP_BIN (programs, default $PWD/bin), O (build dir with
#      libsweep.a, default build), BENCH_PHASES ("a b c d k"), and the
#      sizes BENCH_DISPATCH_RUNS (500), BENCH_INGEST_LINES (100000),
#      BENCH_LATENCY_LINES (500), BENCH_MEMORY_RUNS (10000),
#      BENCH_STOP_RUNS (440); BENCH_KEEP=1 keeps the temporary directory
#      (logs of every process, the cluster's too). SWEEP_* settings in the
#      environment (e.g. SWEEP_FETCH_WAIT_MS, SWEEP_CONFIG with kafka.*
#      lines) reach every process of the stacks; SWEEP_KAFKA_* reach
#      scripts/kafka.sh (its --help); BENCH_KAFKA_ENV=FILE, the
#      cluster.env of a cluster that runs already, is used instead of
#      starting one; BENCH_REAL_ENV="K=V ..." is more environment for the
#      processes of the real-cluster stacks only (bench_runtime.py).
#
# The helper programs in tests/bench/runtime/ are compiled here; the
# driver is tests/bench/runtime/bench_runtime.py. Every process it starts
# is listed in $tmp/pids and killed by the trap, whatever happens. With
# phase k in BENCH_PHASES, one real cluster (scripts/kafka.sh run --nodes
# 3: Kafka 3.9.2, RF 3, min.insync.replicas 2) starts here, in the
# background while the helpers compile, and is ready before the first
# phase, so that no phase runs beside a starting JVM; its cluster.env
# goes to the driver as BENCH_KAFKA_ENV, and the trap stops it (SIGTERM)
# whatever happens. A cluster that cannot start fails phase k (it says
# why, in BENCH_KAFKA_ERR); the other phases still run.
set -u

ROOT=$(pwd)
SWEEP_BIN=${SWEEP_BIN:-$ROOT/bin}
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
export SWEEP_BIN
PY=/usr/bin/python3
SRC=$ROOT/tests/bench/runtime

for p in "$SWEEP_BIN/sweep" "$SWEEP_BIN/sweep-controller" "$SWEEP_BIN/sweep-worker" \
    "$O/libsweep.a" /usr/bin/redis-server "$PY"; do
    if [ ! -e "$p" ]; then
        echo "bench_runtime: $p is missing (run make first)" >&2
        exit 1
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench_runtime.XXXXXX") || exit 1
: >"$tmp/pids"
driver=""
kafka=""
# The runtime signs its assignments: one key for every process of the run.
unset SWEEP_SIGNING_KEY
SWEEP_SIGNING_KEY_FILE=$tmp/signing.key
export SWEEP_SIGNING_KEY_FILE
"$SWEEP_BIN/sweep" keygen --output "$SWEEP_SIGNING_KEY_FILE" || exit 1

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$driver" ]; then
        kill "$driver" 2>/dev/null
        wait "$driver" 2>/dev/null
    fi
    while read -r p; do
        kill "$p" 2>/dev/null
    done <"$tmp/pids"
    sleep 0.2
    while read -r p; do
        kill -9 "$p" 2>/dev/null
    done <"$tmp/pids"
    # kafka.sh stops its nodes (SIGKILL after 3 s) and removes its files.
    if [ -n "$kafka" ]; then
        kill -TERM "$kafka" 2>/dev/null
        wait "$kafka" 2>/dev/null
    fi
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "bench_runtime: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The real cluster of phase k, starting while the helpers compile.
# BENCH_KAFKA_ENV, when given, is the cluster.env of one that runs already.
case " ${BENCH_PHASES:-a b c d k} " in
*" k "*)
    if [ -n "${BENCH_KAFKA_ENV:-}" ]; then
        export BENCH_KAFKA_ENV
    else
        kafka_t0=$(date +%s)
        SWEEP_KAFKA_KEEP=${BENCH_KEEP:+1} sh "$ROOT/scripts/kafka.sh" run \
            --nodes 3 --dir "$tmp/kafka" >"$tmp/kafka.out" 2>"$tmp/kafka.err" \
            </dev/null &
        kafka=$!
    fi
    ;;
esac

# The helpers: plain C, hiredis; redis_base also drives libsweep's store.
PKGS="yaml-0.1 jansson gsl rdkafka hiredis avro-c"
CFLAGS_H="-std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra"
# shellcheck disable=SC2086
LIBS_ALL="$(pkg-config --libs $PKGS | sed 's/-lgslcblas//') $(pkg-config --libs openblas 2>/dev/null || echo -lopenblas) -lm"
mkdir -p "$tmp/helpers"
build() {
    # shellcheck disable=SC2086
    cc $CFLAGS_H "$@" 2>"$tmp/helpers/cc.err" || {
        echo "bench_runtime: cannot compile $*:" >&2
        cat "$tmp/helpers/cc.err" >&2
        exit 1
    }
}
build -o "$tmp/helpers/spawn_loop" "$SRC/spawn_loop.c"
build -o "$tmp/helpers/emit" "$SRC/emit.c"
build -o "$tmp/helpers/stopme" "$SRC/stopme.c"
# shellcheck disable=SC2046
build $(pkg-config --cflags hiredis) -o "$tmp/helpers/redis_watch" \
    "$SRC/redis_watch.c" $(pkg-config --libs hiredis)
# shellcheck disable=SC2046,SC2086
build -I"$ROOT/lib" $(pkg-config --cflags $PKGS) -o "$tmp/helpers/redis_base" \
    "$SRC/redis_base.c" "$O/libsweep.a" $LIBS_ALL

# kafka_wait: until the cluster of $kafka has written cluster.env (it
# prints the bootstrap list just after) or kafka.sh has exited: it gives
# up by itself after SWEEP_KAFKA_TIMEOUT (90 s) of starting, so this waits
# as long as it runs (a first run downloads the jars with Maven), up to
# 15 minutes. Sets BENCH_KAFKA_ENV, and BENCH_KAFKA_ERR when not ready.
kafka_wait() {
    BENCH_KAFKA_ENV=$tmp/kafka/cluster.env
    export BENCH_KAFKA_ENV
    kw_i=0
    while [ ! -s "$BENCH_KAFKA_ENV" ] && kill -0 "$kafka" 2>/dev/null &&
        [ $kw_i -lt 9000 ]; do
        sleep 0.1
        kw_i=$((kw_i + 1))
    done
    if [ -s "$BENCH_KAFKA_ENV" ]; then
        BENCH_KAFKA_START_SECS=$(($(date +%s) - kafka_t0))
        export BENCH_KAFKA_START_SECS
        echo "bench_runtime: Kafka cluster ready in $BENCH_KAFKA_START_SECS s:" \
            "$(head -n 1 "$tmp/kafka.out")" >&2
        return 0
    fi
    # kafka.sh says why on stderr, in lines of its own ("kafka.sh: ...").
    kw_why=$(grep '^kafka.sh: ' "$tmp/kafka.err" |
        grep -v -e '^kafka.sh: Kafka .* node(s), in ' -e '^kafka.sh: removed ' |
        tail -n 2 | tr '\n' ' ' | sed 's/ *$//')
    [ -n "$kw_why" ] || kw_why=$(tail -n 3 "$tmp/kafka.err" | tr '\n' ' ')
    if kill -0 "$kafka" 2>/dev/null; then
        BENCH_KAFKA_ERR="scripts/kafka.sh run --nodes 3 not ready in 15 minutes: $kw_why"
    else
        wait "$kafka"
        BENCH_KAFKA_ERR="scripts/kafka.sh run --nodes 3 exited ($?): $kw_why"
        kafka=""
    fi
    export BENCH_KAFKA_ERR
    echo "bench_runtime: no Kafka cluster for phase k: $BENCH_KAFKA_ERR" >&2
}
[ -n "$kafka" ] && kafka_wait

"$PY" "$SRC/bench_runtime.py" "$tmp" &
driver=$!
wait "$driver"
rc=$?
driver=""
exit $rc
