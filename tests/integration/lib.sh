# lib.sh - shared helpers of the integration tests (POSIX sh, sourced from
# the repository root: . tests/integration/lib.sh).
#
#   it_init NAME          temp dir $IT_TMP, counters, the cleanup trap, and
#                         a fresh signing key in $SWEEP_SIGNING_KEY_FILE
#                         (exported: every controller and worker shares it)
#   ok DESC               "ok - DESC"
#   notok DESC [LOG...]   "FAIL - DESC", then the last lines of each LOG
#   check DESC CMD...     ok when CMD exits 0, else its output as detail
#   note TEXT             "# TEXT"
#   it_bg NAME CMD...     CMD in the background, stdout+stderr in
#                         $IT_TMP/NAME.log, stdin /dev/null; its pid in
#                         $IT_PID; stopped by the trap at the latest
#   it_broker NAME [ARGS] `sweep broker ARGS` (stdout NAME.out, stderr
#                         NAME.log); sets BOOT and BROKER_PID; 1 and an
#                         empty BOOT when no bootstrap line came in 15 s
#   it_kafka NAME [ARGS]  the Kafka this run tests against, with topics of
#                         its own: `sweep broker` (it_broker), or with
#                         IT_KAFKA=real a real 3-node cluster (the one
#                         $SWEEP_TEST_KAFKA_ENV describes, else one started
#                         now with scripts/kafka.sh) and a fresh topic
#                         prefix whose topics `sweep init-topics` creates
#                         (ARGS go to `sweep broker` only).
#                         Sets BOOT and PFX (exported as SWEEP_PREFIX,
#                         which every program reads); 1 on failure
#   it_redis NAME         a private redis-server on a free loopback port
#                         (no persistence); sets REDIS_PORT, REDIS_URL,
#                         REDIS_PID; 1 when it does not answer PING
#   rcli ARGS...          redis-cli on that server (10 s at most)
#   it_wait SECS CMD...   polls CMD every 0.1 s until it succeeds; 1 if not
#   it_wait_exit PID SECS its exit status (reaped), 124 if still running
#   it_stop PID           SIGTERM, SIGKILL after 5 s; the SIGTERM's status
#   it_alive PID          kill -0
#   it_forget PID         a reaped pid is never signalled again
#   it_done               prints "N passed, N failed", exits 0 or 1
#
# Test programs (tests/integration/programs/) record their pid in
# $IT_PIDS, exported here, so that the trap also stops a program orphaned
# by a SIGKILLed worker; it_prog_pids lists those still alive.
#
# Env: SWEEP_BIN (default $PWD/bin), IT_KEEP=1 keeps the temp dir, IT_TAIL
# (default 15) lines of each log in a FAIL.

# shellcheck disable=SC2034 # the sourcing scripts use these
ROOT=$(pwd)
SWEEP_BIN=${SWEEP_BIN:-$ROOT/bin}
SWEEP=$SWEEP_BIN/sweep
CTL=$SWEEP_BIN/sweep-controller
WRK=$SWEEP_BIN/sweep-worker
PY=/usr/bin/python3
REDIS_SERVER=/usr/bin/redis-server
REDIS_CLI=redis-cli
KCAT=kcat

pass=0
fail=0
IT_ALL=""

it_init() {
    IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    IT_PIDS=$IT_TMP/pids
    mkdir -p "$IT_PIDS"
    export IT_PIDS
    trap it_cleanup EXIT
    trap 'exit 1' HUP INT TERM
    unset SWEEP_SIGNING_KEY
    SWEEP_SIGNING_KEY_FILE=$IT_TMP/signing.key
    export SWEEP_SIGNING_KEY_FILE
    "$SWEEP" keygen --output "$SWEEP_SIGNING_KEY_FILE" ||
        echo "FAIL - sweep keygen --output $SWEEP_SIGNING_KEY_FILE"
}

# it_prog_pids: pids recorded in $IT_PIDS whose process is still one of
# our programs (a recycled pid is left alone).
it_prog_pids() {
    for f in "$IT_PIDS"/*; do
        p=${f##*/}
        case $p in '' | *[!0-9]*) continue ;; esac
        if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" |
            grep -q "tests/integration/programs/"; then
            echo "$p"
        else
            rm -f "$f"
        fi
    done
}

it_cleanup() {
    for p in $IT_ALL $(it_prog_pids); do
        kill -TERM "$p" 2>/dev/null
    done
    sleep 0.3
    for p in $IT_ALL $(it_prog_pids); do
        kill -KILL "$p" 2>/dev/null
    done
    for p in $IT_ALL; do
        wait "$p" 2>/dev/null
    done
    if [ "${IT_KEEP:-0}" = 1 ]; then
        echo "# kept $IT_TMP" >&2
    else
        rm -rf "$IT_TMP"
    fi
}

# it_forget PID: PID was reaped; its number may be reused, never signal it.
it_forget() {
    f_new=""
    for f_p in $IT_ALL; do
        [ "$f_p" = "$1" ] || f_new="$f_new $f_p"
    done
    IT_ALL=$f_new
}

ok() {
    pass=$((pass + 1))
    echo "ok - $1"
}

# notok DESC [FILE...]: the last lines of each file as detail.
notok() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    shift
    for f in "$@"; do
        if [ -s "$f" ]; then
            echo "    $(basename "$f") (last lines):"
            tail -n "${IT_TAIL:-15}" "$f" | cut -c 1-300 | sed 's/^/      | /'
        fi
    done
}

# note TEXT: a comment line in the output.
note() {
    echo "# $*"
}

# check DESC CMD...: ok when CMD exits 0; its output in $IT_TMP/check.out.
check() {
    c_desc=$1
    shift
    if "$@" >"$IT_TMP/check.out" 2>&1; then
        ok "$c_desc"
    else
        echo "exit status $?" >>"$IT_TMP/check.out"
        notok "$c_desc" "$IT_TMP/check.out"
    fi
}

it_bg() {
    b_name=$1
    shift
    "$@" >"$IT_TMP/$b_name.log" 2>&1 </dev/null &
    IT_PID=$!
    IT_ALL="$IT_ALL $IT_PID"
}

it_wait() {
    w_left=$(($1 * 10))
    shift
    while [ "$w_left" -gt 0 ]; do
        "$@" && return 0
        sleep 0.1
        w_left=$((w_left - 1))
    done
    "$@"
}

it_wait_exit() {
    we_i=0
    while kill -0 "$1" 2>/dev/null && [ $we_i -lt $(($2 * 10)) ]; do
        sleep 0.1
        we_i=$((we_i + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        return 124
    fi
    wait "$1"
    we_rc=$?
    it_forget "$1"
    return $we_rc
}

it_stop() {
    kill -TERM "$1" 2>/dev/null
    it_wait_exit "$1" 5 >/dev/null 2>&1
    s_rc=$?
    if [ $s_rc -eq 124 ]; then
        kill -KILL "$1" 2>/dev/null
        wait "$1" 2>/dev/null
        it_forget "$1"
    fi
    return $s_rc
}

it_alive() {
    kill -0 "$1" 2>/dev/null
}

it_free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# it_broker NAME [ARGS...]
it_broker() {
    br_name=$1
    shift
    "$SWEEP" broker "$@" >"$IT_TMP/$br_name.out" 2>"$IT_TMP/$br_name.log" \
        </dev/null &
    BROKER_PID=$!
    IT_ALL="$IT_ALL $BROKER_PID"
    BOOT=""
    br_i=0
    while [ $br_i -lt 150 ]; do
        BOOT=$(head -n 1 "$IT_TMP/$br_name.out" 2>/dev/null)
        case $BOOT in 127.0.0.1:[0-9]*) return 0 ;; esac
        kill -0 "$BROKER_PID" 2>/dev/null || break
        sleep 0.1
        br_i=$((br_i + 1))
    done
    BOOT=""
    return 1
}

# it_kafka_cluster: the real cluster of this run: $SWEEP_TEST_KAFKA_ENV when
# set (scripts/run-tests.sh starts one for every runner), else one started
# here and stopped by the trap. Sources its cluster.env (KAFKA_BOOT, ...).
it_kafka_cluster() {
    [ -n "${KAFKA_BOOT:-}" ] && return 0
    if [ -z "${SWEEP_TEST_KAFKA_ENV:-}" ]; then
        it_bg kafka-cluster sh "$ROOT/scripts/kafka.sh" run --nodes 3 --security \
            --dir "$IT_TMP/kafka"
        kc_i=0
        while [ $kc_i -lt 1800 ]; do
            # written once every node is up
            [ -s "$IT_TMP/kafka/cluster.env" ] && break
            kill -0 "$IT_PID" 2>/dev/null || break
            sleep 0.1
            kc_i=$((kc_i + 1))
        done
        SWEEP_TEST_KAFKA_ENV=$IT_TMP/kafka/cluster.env
    fi
    if [ ! -s "$SWEEP_TEST_KAFKA_ENV" ]; then
        echo "no real Kafka cluster: $SWEEP_TEST_KAFKA_ENV is missing (scripts/kafka.sh run failed; see its log)"
        return 1
    fi
    # shellcheck disable=SC1090
    . "$SWEEP_TEST_KAFKA_ENV"
    [ -n "${KAFKA_BOOT:-}" ]
}

# it_kafka NAME [ARGS...]
it_kafka() {
    ik_name=$1
    shift
    if [ "${IT_KAFKA:-embedded}" != real ]; then
        PFX=sweeps
        SWEEP_PREFIX=$PFX
        export SWEEP_PREFIX
        it_broker "$ik_name" "$@"
        return
    fi
    BOOT=""
    if ! it_kafka_cluster >"$IT_TMP/$ik_name.log" 2>&1; then
        cat "$IT_TMP/kafka-cluster.log" >>"$IT_TMP/$ik_name.log" 2>/dev/null
        return 1
    fi
    BOOT=$KAFKA_BOOT
    # A prefix per scenario: its topics start empty, nothing else reads them.
    PFX=it$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n').$ik_name
    PFX=$(echo "$PFX" | tr -c 'A-Za-z0-9._\n-' '_')
    SWEEP_PREFIX=$PFX
    export SWEEP_PREFIX
    timeout 60 "$SWEEP" init-topics --brokers "$BOOT" >>"$IT_TMP/$ik_name.log" 2>&1
}

it_redis_up() {
    timeout 5 "$REDIS_CLI" -p "$REDIS_PORT" PING 2>/dev/null | grep -q PONG
}

# it_redis NAME
it_redis() {
    REDIS_PORT=$(it_free_port)
    it_bg "$1" "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 \
        --save "" --appendonly no --dir "$IT_TMP"
    REDIS_PID=$IT_PID
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT
    if it_wait 10 it_redis_up; then
        return 0
    fi
    REDIS_URL=""
    return 1
}

# rcli ARGS...: redis-cli on the current private server.
rcli() {
    timeout 10 "$REDIS_CLI" -p "$REDIS_PORT" "$@"
}

it_done() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit $?
}
