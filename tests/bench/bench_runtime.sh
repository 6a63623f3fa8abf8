#!/bin/sh
# bench_runtime.sh - benchmarks of the distributed runtime (issue 3):
# (a) dispatch, (b) metric ingest, (c) memory, and (issue 5) (d) early
# termination's stop latency, metric line printed -> SIGTERM received;
# each on a private stack (`sweep broker`, redis-server, sweep-controller,
# pool workers) and each against a baseline measured in the same run.
# Prints markdown tables.
#
# Run from the repository root: sh tests/bench/bench_runtime.sh
# Env: SWEEP_BIN (programs, default $PWD/bin), O (build dir with
#      libsweep.a, default build), BENCH_PHASES ("a b c d"), and the sizes
#      BENCH_DISPATCH_RUNS (500), BENCH_INGEST_LINES (100000),
#      BENCH_LATENCY_LINES (500), BENCH_MEMORY_RUNS (10000),
#      BENCH_STOP_RUNS (440); BENCH_KEEP=1 keeps the temporary directory
#      (logs of every process). SWEEP_* settings in the environment (e.g.
#      SWEEP_FETCH_WAIT_MS, SWEEP_CONFIG with kafka.* lines) reach every
#      process of the stacks.
#
# The helper programs in tests/bench/runtime/ are compiled here; the
# driver is tests/bench/runtime/bench_runtime.py. Every process it starts
# is listed in $tmp/pids and killed by the trap, whatever happens.
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
    if [ -n "${BENCH_KEEP:-}" ]; then
        echo "bench_runtime: kept $tmp" >&2
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

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

"$PY" "$SRC/bench_runtime.py" "$tmp" &
driver=$!
wait "$driver"
rc=$?
driver=""
exit $rc
