#!/bin/sh
# test_runtime.sh - the distributed runtime end to end (issue 3, "Tests"):
# `sweep broker`, a private redis-server, sweep-controller(s) and
# sweep-worker(s) as separate processes over loopback, driven by the
# `sweep` CLI and checked through Redis (docs/redis.md), the CLI's JSON,
# the processes' exit statuses and logs, and an independent Kafka reader
# (check_metrics.py: kafka-python + python3-avro).
#
# Scenarios (each with its own broker, redis-server and sweep):
#   s1 a 12-point grid on 3 workers        s5 a run longer than max.poll.interval.ms
#   s2 SIGKILL a worker mid-run            s6 the metrics topic read from outside
#   s2b ... while the other worker idles   s7 garbage on every topic
#   s3 SIGTERM a worker (preemption)     s8 SIGTERM a controller, Redis down
#   s4 SIGKILL the leading controller    s9 32 workers joining in 4 waves
#   s10 metric events lost on the way    s11 messages delivered twice
#   s12 an idle status delivered late    s13 ... read again by a new leader
#   s14 a worker pool serving two sweeps
#
# With IT_KAFKA=real (scripts/run-tests.sh: test_runtime_kafka, s1 s2 s3 s4
# s14) each scenario runs on a real 3-node Kafka cluster instead, with
# topics of its own created by `sweep init-topics` (lib.sh it_kafka).
#
# Run from the repository root: sh tests/integration/test_runtime.sh
# Env: SWEEP_BIN, absolute directory of the programs (default $PWD/bin);
#      IT_KEEP=1 keeps the temporary directory (every process's log);
#      IT_ONLY="s2 s4" runs only those scenarios.
set -u

. tests/integration/lib.sh
it_init test_runtime

PROGS=$ROOT/tests/integration/programs
CHECK=$ROOT/tests/integration/check_metrics.py
T0=$(date +%s)

for f in "$SWEEP" "$CTL" "$WRK"; do
    if [ ! -x "$f" ]; then
        echo "FAIL - $f is not an executable (make, or set SWEEP_BIN)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

missing=""
for t in "$REDIS_SERVER" "$REDIS_CLI" "$KCAT" timeout; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
"$PY" -c 'import kafka, avro.io, avro.schema' 2>/dev/null ||
    missing="$missing $PY-with-python3-kafka-and-python3-avro"
if [ -z "$missing" ]; then
    ok "prerequisites: redis-server, redis-cli, kcat, timeout, python3-kafka, python3-avro"
else
    echo "missing:$missing (scripts/install-deps.sh)" >"$IT_TMP/missing"
    notok "prerequisites: redis-server, redis-cli, kcat, timeout, python3-kafka, python3-avro" \
        "$IT_TMP/missing"
fi

# ---- helpers ----------------------------------------------------------------

# setup SC [BROKER ARGS...]: the scenario's directory $D, broker ($BOOT) and
# redis-server ($REDIS_URL); 1 (after a FAIL) when one did not start.
setup() {
    SC=$1
    shift
    D=$IT_TMP/$SC
    mkdir -p "$D/printed" "$D/hist"
    IT_PRINTED=$D/printed
    export IT_PRINTED
    SID=""
    note "--- $SC"
    if ! it_kafka "$SC/broker" "$@"; then
        notok "$SC: the Kafka of the scenario is there (${IT_KAFKA:-embedded})" "$D/broker.log"
        return 1
    fi
    if ! it_redis "$SC/redis"; then
        notok "$SC: redis-server starts on a free port" "$D/redis.log"
        return 1
    fi
    return 0
}

# controller NAME ARGS...: a sweep-controller; its pid in $IT_PID.
controller() {
    c_name=$1
    shift
    it_bg "$SC/$c_name" "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" "$@"
}

# worker NAME ARGS...: a sweep-worker; its pid in $IT_PID.
worker() {
    w_name=$1
    shift
    it_bg "$SC/$w_name" "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$@"
}

# create FILE [ARGS...]: `sweep create`; $SID, or 1 after a FAIL.
create() {
    cr_file=$1
    shift
    SID=$(timeout 30 "$SWEEP" create "$cr_file" --brokers "$BOOT" --redis "$REDIS_URL" "$@" \
        2>"$D/create.err" | tail -n 1)
    case $SID in
    '' | *[!a-z0-9]*)
        notok "$SC: sweep create prints the sweep id last (got '$SID')" "$D/create.err"
        SID=""
        return 1
        ;;
    esac
    export SID
    return 0
}

sweep_state() {
    rcli HGET "sw:s:$SID" state 2>/dev/null
}

# run_field RUN FIELD: one field of a run's hash.
run_field() {
    rcli HGET "sw:r:$SID:$1" "$2" 2>/dev/null
}

run_is() {
    [ "$(run_field "$1" state)" = "$2" ]
}

# sweep_field_is FIELD VALUE, sweep_field_ge FIELD N: the sweep's hash.
sweep_field_is() {
    [ "$(rcli HGET "sw:s:$SID" "$1" 2>/dev/null)" = "$2" ]
}

sweep_field_ge() {
    sf_v=$(rcli HGET "sw:s:$SID" "$1" 2>/dev/null)
    [ "${sf_v:-0}" -ge "$2" ] 2>/dev/null
}

holder_is() {
    [ "$(rcli GET sw:lease:holder 2>/dev/null)" = "$1" ]
}

# run_running_again RUN ATTEMPT: running, at that attempt.
run_running_again() {
    [ "$(run_field "$1" attempt)" = "$2" ] && run_is "$1" running
}

# hist_total_is N: the histories of the sweep's runs hold N entries in all
# (metric events may be applied after the run's end: another topic).
hist_total_is() {
    ht_n=0
    for r in $(rcli ZRANGE "sw:s:$SID:runs" 0 -1); do
        ht_l=$(rcli LLEN "sw:r:$SID:$r:hist")
        case $ht_l in '' | *[!0-9]*) return 1 ;; esac
        ht_n=$((ht_n + ht_l))
    done
    [ "$ht_n" -eq "$1" ]
}

hist_len_at_least() {
    [ "$(rcli LLEN "sw:r:$SID:$1:hist" 2>/dev/null || echo 0)" -ge "$2" ]
}

# before_kill RUN: $AT, the run's attempt now, with a note when it is not 1
# (its first assignment was lost, see s9: the kill's requeue is then AT+1).
before_kill() {
    AT=$(run_field "$1" attempt)
    NEXT=$((${AT:-1} + 1))
    export AT NEXT
    [ "$AT" = 1 ] || note "run $1 is at attempt $AT before the kill: $(grep -h "$1" "$D/ctl.log" | cut -c 26-200 | tr '\n' ' ')"
}

# more_lines TEXT FILE N: FILE has more than N lines holding TEXT.
more_lines() {
    [ "$(grep -c -F "$1" "$2")" -gt "$3" ]
}

# The pid in a worker id (host-PID-xxxx).
worker_pid() {
    wp=${1%-*}
    echo "${wp##*-}"
}

# fetch: `sweep runs/status --json` into $D/runs.json, $D/status.json and
# each run's history (LRANGE ...:hist) into $D/hist/RUN.
fetch() {
    timeout 30 "$SWEEP" runs "$SID" --json --redis "$REDIS_URL" >"$D/runs.json" 2>"$D/runs.err"
    timeout 30 "$SWEEP" status "$SID" --json --redis "$REDIS_URL" >"$D/status.json" 2>"$D/status.err"
    rm -f "$D/hist/"*
    for r in $(rcli ZRANGE "sw:s:$SID:runs" 0 -1); do
        rcli LRANGE "sw:r:$SID:$r:hist" 0 -1 >"$D/hist/$r"
    done
}

# pyassert DESC SCRIPT [LOG...]: SCRIPT runs with `runs` (sweep runs
# --json), `status`, `hist` (run -> list of entries), `printed` (lines of
# $D/printed/printed split), `E` (os.environ) and `D`; an assert that fails
# is the FAIL's detail, followed by the tails of the LOGs; lines it prints
# starting with "# " are shown when it passes too.
pyassert() {
    pa_desc=$1
    pa_script=$2
    shift 2
    if timeout 60 "$PY" - "$D" "$pa_script" >"$D/assert.out" 2>&1 <<'EOF'; then
import json, math, os, sys, traceback
D = sys.argv[1]
E = os.environ
def load(name, default):
    try:
        with open(os.path.join(D, name)) as f:
            return json.load(f)
    except Exception as e:
        print("cannot read %s: %s" % (name, e))
        return default
runs = load("runs.json", [])
status = load("status.json", {})
hist = {}
for r in os.listdir(os.path.join(D, "hist")):
    with open(os.path.join(D, "hist", r)) as f:
        hist[r] = [json.loads(l) for l in f if l.strip()]
printed = []
if os.path.exists(os.path.join(D, "printed", "printed")):
    with open(os.path.join(D, "printed", "printed")) as f:
        printed = [l.split() for l in f if l.strip()]
try:
    exec(sys.argv[2])
except AssertionError as e:
    print("assertion failed: %s" % e)
    print("  at: " + traceback.format_exc().strip().splitlines()[-2].strip())
    sys.exit(1)
EOF
        grep '^# ' "$D/assert.out"
        ok "$pa_desc"
    else
        notok "$pa_desc" "$D/assert.out" "$@"
    fi
}

# expect_exit DESC PID SECS WANT [LOG...]: PID exits with status WANT within
# SECS seconds.
expect_exit() {
    ee_desc=$1
    ee_pid=$2
    ee_secs=$3
    ee_want=$4
    shift 4
    it_wait_exit "$ee_pid" "$ee_secs"
    ee_rc=$?
    if [ "$ee_rc" -eq "$ee_want" ]; then
        ok "$ee_desc"
    else
        if [ "$ee_rc" -eq 124 ]; then
            echo "still running after $ee_secs s" >"$D/exit.out"
        else
            echo "exit status $ee_rc, want $ee_want" >"$D/exit.out"
        fi
        notok "$ee_desc" "$D/exit.out" "$@"
    fi
}

# teardown: stop what the scenario started (the trap would, later).
teardown() {
    td_rev=""
    for p in $IT_ALL; do
        td_rev="$p $td_rev"
    done
    for p in $td_rev; do # workers and controllers before redis and broker
        it_alive "$p" && it_stop "$p"
    done
    for p in $(it_prog_pids); do # programs orphaned by a killed worker
        kill -KILL "$p" 2>/dev/null
        rm -f "$IT_PIDS/$p"
    done
    IT_ALL=""
    note "$SC done at $(($(date +%s) - T0)) s"
}

# A grid config: grid_yaml FILE COMMAND_YAML PARAMS_YAML
grid_yaml() {
    cat >"$1" <<EOF
method: grid
program: tests/integration/programs/steps.sh
parameters:
$3
command:
$2
EOF
}

STEPS_CMD="  - /bin/sh
  - $PROGS/steps.sh
  - \${args}"

# ---- the programs' command lines --------------------------------------------

note "--- help"
for p in "$WRK" "$CTL"; do
    if timeout 10 "$p" --help >"$IT_TMP/help.out" 2>&1 && grep -q -- "--brokers" "$IT_TMP/help.out"; then
        ok "$(basename "$p") --help exits 0 and mentions --brokers"
    else
        notok "$(basename "$p") --help exits 0 and mentions --brokers" "$IT_TMP/help.out"
    fi
done

# ---- s1: a 12-point grid on 3 workers ----------------------------------------

s1() {
    setup s1 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3, 4]}
  y: {values: [a, b, c]}
  steps: {value: 5}
  sleep: {value: 0.15}"
    controller ctl
    CPID=$IT_PID
    create "$D/sweep.yaml" || return
    for i in 1 2 3; do
        worker "w$i" "$SID"
        eval "W$i=\$IT_PID"
    done
    for i in 1 2 3; do
        eval "wp=\$W$i"
        expect_exit "s1: bound worker $i exits 0 when the sweep is finished" \
            "$wp" 60 0 "$D/w$i.log" "$D/ctl.log"
    done
    it_wait 10 hist_total_is 60
    # fetch_wait_ms 0: the embedded broker holds an empty fetch for the
    # whole wait (short there), a real one answers when data is there
    case ${IT_KAFKA:-} in
    real) fw="real cluster .*: readers wait up to 500 ms" ;;
    *) fw="embedded cluster mockCluster.*: readers wait up to 5 ms" ;;
    esac
    if grep -q "kafka: $fw per fetch" "$D/ctl.log" && grep -q "kafka: $fw per fetch" "$D/w1.log"; then
        ok "s1: the readers of the controller and the workers: 'kafka: $fw per fetch'"
    else
        notok "s1: the readers of the controller and the workers: 'kafka: $fw per fetch'" \
            "$D/ctl.log" "$D/w1.log"
    fi
    fetch
    pyassert "s1: status finished, runs_created 12, 12 finished" '
assert status.get("state") == "finished", status.get("state")
assert status.get("runs_created") == 12, status.get("runs_created")
counts = {k: v for k, v in status.get("runs", {}).items() if v}
assert counts == {"finished": 12}, counts
' "$D/ctl.log"
    pyassert "s1: 12 runs, their params are the 12 grid points, each once" '
assert len(runs) == 12, len(runs)
got = sorted((r["params"]["x"], r["params"]["y"]) for r in runs)
want = sorted((x, y) for x in (1, 2, 3, 4) for y in "abc")
assert got == want, got
assert all(r["params"]["steps"] == 5 and r["params"]["sleep"] == 0.15 for r in runs)
assert len({r["id"] for r in runs}) == 12
'
    pyassert "s1: every run finished, exit code 0, 5 steps, attempt 1 (or requeued for a logged reason)" '
bad = [(r["id"], r["state"], r.get("exit_code"), r.get("steps"))
       for r in runs if (r["state"], r.get("exit_code"), r.get("steps")) != ("finished", 0, 5)]
assert not bad, bad
log = open(os.path.join(D, "ctl.log")).read()
again = [r["id"] for r in runs if r["attempt"] != 1]
for r in again:
    print("# run %s: attempt %d" % (r, [x for x in runs if x["id"] == r][0]["attempt"]))
unexplained = [r for r in again if not any(
    ("run %s/%s %s" % (E["SID"], r, w)) in log for w in ("preempted", ": no heartbeat")) and
    not any(("never %s run %s" % (w, r)) in log for w in ("started", "received"))]
assert not unexplained, ("requeued without a logged reason", unexplained)
' "$D/ctl.log"
    pyassert "s1: each run's history is its 5 metric lines in order" '
for r in runs:
    h = hist.get(r["id"], [])
    x = r["params"]["x"]
    assert [e.get("step") for e in h] == [1, 2, 3, 4, 5], (r["id"], h)
    want = [float("%d.%d" % (100 - i, 1000 + x)) for i in range(1, 6)]
    assert [e.get("loss") for e in h] == want, (r["id"], [e.get("loss") for e in h], want)
    assert [e.get("_step") for e in h] == [0, 1, 2, 3, 4], (r["id"], h)
    ts = [e.get("_timestamp") for e in h]
    assert all(isinstance(t, int) for t in ts) and ts == sorted(ts), ts
    assert r["summary"].get("loss") == want[-1], (r["id"], r["summary"])
'
    pyassert "s1: the programs ran 12 times, once per run (60 metric lines)" '
assert len(printed) == 60, len(printed)
assert len({tuple(p) for p in printed}) == 60, "a run printed a step twice"
assert sorted({p[0] for p in printed}) == sorted(r["id"] for r in runs)
att = {r["id"]: str(r["attempt"]) for r in runs}
assert all(p[1] == att[p[0]] for p in printed), "a run ran at an attempt not its last"
d = os.path.join(D, "runs", E["SID"])
assert sorted(os.listdir(d)) == sorted("%s-%d" % (r["id"], r["attempt"]) for r in runs), os.listdir(d)
'
    pyassert "s1: all 3 workers got runs" '
ws = {r["worker"] for r in runs}
assert len(ws) == 3, ws
'
    teardown
}

# ---- s2: SIGKILL a worker mid-run --------------------------------------------

# Two points: A (10 steps of 0.3 s) is killed mid-run; B (10 of 0.7 s)
# keeps the other bound worker busy until A is requeued, so that worker
# is there to take it (see s2b for an idle one).
s2() {
    setup s2 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  sleep: {values: [0.3, 0.7]}
  steps: {value: 10}"
    controller ctl --lease-timeout 3
    create "$D/sweep.yaml" || return
    worker w1 "$SID"
    W1=$IT_PID
    worker w2 "$SID"
    W2=$IT_PID
    # both runs running; A is the one with sleep 0.3
    if ! it_wait 20 sweep_field_is n:running 2; then
        notok "s2: both runs start" "$D/ctl.log" "$D/w1.log" "$D/w2.log"
        teardown
        return
    fi
    A=""
    for r in $(rcli ZRANGE "sw:s:$SID:runs" 0 -1); do
        case $(run_field "$r" params) in *'"sleep": 0.3'* | *'"sleep":0.3'*) A=$r ;; esac
    done
    AW=$(run_field "$A" worker)
    KP=$(worker_pid "$AW")
    if [ -z "$A" ] || { [ "$KP" != "$W1" ] && [ "$KP" != "$W2" ]; }; then
        notok "s2: run A (sleep 0.3) runs on one of our workers (run '$A', worker '$AW')" "$D/ctl.log"
        teardown
        return
    fi
    if [ "$KP" = "$W1" ]; then OP=$W2; ON=w2; else OP=$W1; ON=w1; fi
    it_wait 10 hist_len_at_least "$A" 3
    before_kill "$A"
    note "run $A: SIGKILL its worker $AW after $(rcli LLEN "sw:r:$SID:$A:hist") steps of attempt $AT"
    n_crash=$(grep -c "run $SID/$A: no heartbeat from worker $AW" "$D/ctl.log")
    kill -KILL "$KP"
    t_kill=$(date +%s)
    expect_exit "s2: the SIGKILLed worker dies (status 137)" "$KP" 5 137
    if it_wait 10 more_lines "run $SID/$A: no heartbeat from worker $AW" "$D/ctl.log" "$n_crash"; then
        ok "s2: the controller marks run A crashed ($(($(date +%s) - t_kill)) s after the kill, lease-timeout 3)"
    else
        notok "s2: the controller marks run A crashed within 10 s" "$D/ctl.log"
    fi
    if it_wait 30 run_is "$A" finished; then
        ok "s2: run A finished after the requeue"
    else
        notok "s2: run A finished after the requeue (state $(run_field "$A" state))" \
            "$D/ctl.log" "$D/$ON.log"
    fi
    expect_exit "s2: the other worker exits 0 when the sweep is finished" "$OP" 30 0 \
        "$D/$ON.log" "$D/ctl.log"
    it_wait 5 hist_len_at_least "$A" 10
    fetch
    export A AW
    pyassert "s2: exactly one final result for run A: finished, attempt $NEXT (killed: $AT), on the other worker" '
a = [r for r in runs if r["id"] == E["A"]]
assert len(a) == 1, a
a = a[0]
assert (a["state"], a["attempt"], a.get("exit_code")) == ("finished", int(E["NEXT"]), 0), a
assert a["worker"] != E["AW"], (a["worker"], E["AW"])
assert len(runs) == 2 and all(r["state"] == "finished" for r in runs), runs
assert status.get("state") == "finished" and status.get("runs_created") == 2, status
counts = {k: v for k, v in status.get("runs", {}).items() if v}
assert counts == {"finished": 2}, counts
' "$D/ctl.log"
    # What the killed and the final attempt printed, from their output logs.
    AF=$(run_field "$A" attempt)
    n2=$(grep -c '^step=' "$D/runs/$SID/$A-$AF/output.log" 2>/dev/null)
    n1=$(grep -c '^step=' "$D/runs/$SID/$A-$AT/output.log" 2>/dev/null)
    note "run A: attempt $AT printed ${n1:-?} metric lines before the kill, attempt $AF printed ${n2:-?}; history holds $(rcli LLEN "sw:r:$SID:$A:hist") entries, steps $(run_field "$A" steps)"
    export n2
    pyassert "s2: run A's steps equal the final attempt's metric lines (${n2:-?})" '
a = [r for r in runs if r["id"] == E["A"]][0]
assert E.get("n2") and a.get("steps") == int(E["n2"]) == 10, (a.get("steps"), E.get("n2"))
' "$D/ctl.log"
    pyassert "s2: run A, finished, carries no reason left from the crashed attempt" '
a = [r for r in runs if r["id"] == E["A"]][0]
assert a.get("reason") in (None, ""), a.get("reason")
'
    pyassert "s2: run A's history is the final attempt's 10 steps, in order (no entries of the killed attempt)" '
h = hist[E["A"]]
assert [e.get("step") for e in h] == list(range(1, 11)), [(e.get("_step"), e.get("step")) for e in h]
'
    teardown
}

# ---- s2b: SIGKILL a worker while the other bound worker is idle --------------

# One point, two bound workers: one runs it, the other has nothing to do.
# When the first is SIGKILLed, the run is requeued; a bound worker serves
# its sweep until the sweep is finished, so the other worker should still
# be there to take it.
s2b() {
    setup s2b || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  sleep: {value: 0.3}
  steps: {value: 10}"
    controller ctl --lease-timeout 3
    create "$D/sweep.yaml" || return
    worker w1 "$SID"
    W1=$IT_PID
    worker w2 "$SID"
    W2=$IT_PID
    A=""
    it_wait 20 sweep_field_is n:running 1
    A=$(rcli ZRANGE "sw:s:$SID:runs" 0 0)
    AW=$(run_field "$A" worker)
    KP=$(worker_pid "$AW")
    if [ -z "$A" ] || { [ "$KP" != "$W1" ] && [ "$KP" != "$W2" ]; }; then
        notok "s2b: the run starts on one of our workers (run '$A', worker '$AW')" "$D/ctl.log"
        teardown
        return
    fi
    if [ "$KP" = "$W1" ]; then OP=$W2; ON=w2; else OP=$W1; ON=w1; fi
    it_wait 10 hist_len_at_least "$A" 3
    before_kill "$A"
    sleep 0.5
    if it_alive "$OP"; then
        note "the idle worker is still there when the run's worker is killed"
    else
        note "the idle worker already exited ($(tail -n 2 "$D/$ON.log" | tr '\n' ' '))"
        note "sweep state while the run was still running: $(sweep_state) ($(rcli HGET "sw:s:$SID" finish_reason))"
    fi
    kill -KILL "$KP"
    if it_wait 15 run_is "$A" finished; then
        ok "s2b: the run is finished by the other (idle) bound worker after the kill"
        if [ "$(run_field "$A" attempt)" = "$NEXT" ] && [ "$(run_field "$A" worker)" != "$AW" ]; then
            ok "s2b: the run finished at attempt $NEXT (killed: $AT) on the other worker"
        else
            notok "s2b: the run finished at attempt $NEXT (killed: $AT) on the other worker (attempt $(run_field "$A" attempt), worker $(run_field "$A" worker))" "$D/ctl.log"
        fi
        expect_exit "s2b: the other worker exits 0 once the sweep is finished" "$OP" 15 0 \
            "$D/$ON.log" "$D/ctl.log"
    else
        notok "s2b: the run is finished by the other (idle) bound worker after the kill (run state $(run_field "$A" state), attempt $(run_field "$A" attempt))" \
            "$D/$ON.log" "$D/ctl.log"
    fi
    teardown
}

# ---- s3: SIGTERM a worker (preemption) ---------------------------------------

# w1 (bound) runs the only point; w2, a pool worker, idles; SIGTERM w1.
s3() {
    setup s3 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  sleep: {value: 0.3}
  steps: {value: 10}"
    controller ctl --lease-timeout 30
    create "$D/sweep.yaml" || return
    worker w1 "$SID"
    W1=$IT_PID
    if ! it_wait 20 sweep_field_is n:running 1; then
        notok "s3: the run starts" "$D/ctl.log" "$D/w1.log"
        teardown
        return
    fi
    A=$(rcli ZRANGE "sw:s:$SID:runs" 0 0)
    AW=$(run_field "$A" worker)
    worker w2 --pool default
    W2=$IT_PID
    it_wait 15 grep -q "worker .* joined (pool)" "$D/ctl.log"
    it_wait 10 hist_len_at_least "$A" 3
    before_kill "$A"
    note "run $A: SIGTERM its worker $AW after $(rcli LLEN "sw:r:$SID:$A:hist") steps of attempt $AT"
    t0=$(date +%s%N)
    kill -TERM "$W1"
    expect_exit "s3: the SIGTERMed worker exits 0" "$W1" 15 0 "$D/w1.log"
    if it_wait 10 run_running_again "$A" "$NEXT"; then
        ms=$((($(date +%s%N) - t0) / 1000000))
        if [ "$ms" -le 3000 ]; then
            ok "s3: the run is running again (attempt $NEXT) ${ms} ms after the SIGTERM (lease-timeout 30 s)"
        else
            notok "s3: the run is running again within 3 s of the SIGTERM (took ${ms} ms)" "$D/ctl.log"
        fi
    else
        notok "s3: the run is running again (attempt $NEXT) within 10 s of the SIGTERM (state $(run_field "$A" state), attempt $(run_field "$A" attempt))" \
            "$D/ctl.log" "$D/w1.log" "$D/w2.log"
    fi
    if grep -q "run $SID/$A preempted on $AW: requeued" "$D/ctl.log"; then
        ok "s3: the controller got the run's preempted event"
    else
        notok "s3: the controller got the run's preempted event" "$D/ctl.log" "$D/w1.log"
    fi
    if it_wait 20 run_is "$A" finished; then
        ok "s3: the run finished on the other worker"
    else
        notok "s3: the run finished on the other worker (state $(run_field "$A" state))" \
            "$D/ctl.log" "$D/w2.log"
    fi
    fetch
    export A AW
    pyassert "s3: one run: finished, attempt $NEXT (preempted: $AT), exit 0, not on the preempted worker" '
assert len(runs) == 1, runs
a = runs[0]
assert (a["id"], a["state"], a["attempt"], a.get("exit_code")) == (E["A"], "finished", int(E["NEXT"]), 0), a
assert a["worker"] != E["AW"], a["worker"]
assert status.get("state") == "finished", status
' "$D/ctl.log"
    note "run A: history holds $(rcli LLEN "sw:r:$SID:$A:hist") entries, steps $(run_field "$A" steps), reason '$(run_field "$A" reason)'"
    pyassert "s3: run A's steps and history are the final attempt's 10 steps, in order" '
a = runs[0]
assert a.get("steps") == 10, a.get("steps")
assert [e.get("step") for e in hist[E["A"]]] == list(range(1, 11)), \
    [(e.get("_step"), e.get("step")) for e in hist[E["A"]]]
'
    if it_alive "$W2"; then
        ok "s3: the pool worker keeps running after the sweep is finished"
    else
        notok "s3: the pool worker keeps running after the sweep is finished" "$D/w2.log"
    fi
    kill -TERM "$W2"
    expect_exit "s3: the idle pool worker exits 0 on SIGTERM" "$W2" 10 0 "$D/w2.log"
    teardown
}

# ---- s4: SIGKILL the leading controller --------------------------------------

s4() {
    setup s4 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3, 4]}
  y: {values: [a, b, c]}
  steps: {value: 5}
  sleep: {value: 0.2}"
    controller c1 --lease-ttl 1500 --name c1
    C1=$IT_PID
    if ! it_wait 10 holder_is c1; then
        notok "s4: controller c1 takes the lease" "$D/c1.log"
    fi
    controller c2 --lease-ttl 1500 --name c2
    C2=$IT_PID
    create "$D/sweep.yaml" || return
    worker w1 "$SID"
    W1=$IT_PID
    worker w2 "$SID"
    W2=$IT_PID
    it_wait 30 sweep_field_ge n:finished 3
    H=$(rcli GET sw:lease:holder)
    case $H in
    c1) KP=$C1 NEW=c2 ;;
    c2) KP=$C2 NEW=c1 ;;
    *)
        notok "s4: sw:lease:holder names c1 or c2 (got '$H')" "$D/c1.log" "$D/c2.log"
        teardown
        return
        ;;
    esac
    note "SIGKILL the leader $H with $(rcli HGET "sw:s:$SID" n:finished) runs finished"
    kill -KILL "$KP"
    t0=$(date +%s%N)
    if it_wait 10 holder_is "$NEW"; then
        ok "s4: the standby $NEW takes the lease $((($(date +%s%N) - t0) / 1000000)) ms after the kill (TTL 1500 ms)"
    else
        notok "s4: the standby $NEW takes the lease within 10 s" "$D/$NEW.log"
    fi
    expect_exit "s4: worker 1 exits 0 when the sweep is finished" "$W1" 60 0 "$D/w1.log" "$D/$NEW.log"
    expect_exit "s4: worker 2 exits 0 when the sweep is finished" "$W2" 30 0 "$D/w2.log" "$D/$NEW.log"
    it_wait 10 hist_total_is 60
    fetch
    pyassert "s4: the sweep completes: 12 runs, all finished, status finished" '
assert status.get("state") == "finished", status.get("state")
assert status.get("runs_created") == 12, status.get("runs_created")
counts = {k: v for k, v in status.get("runs", {}).items() if v}
assert counts == {"finished": 12}, counts
assert len(runs) == 12 and all(r["state"] == "finished" for r in runs), \
    [(r["id"], r["state"]) for r in runs]
' "$D/c1.log" "$D/c2.log"
    pyassert "s4: every grid point exactly once, none lost" '
got = sorted((r["params"]["x"], r["params"]["y"]) for r in runs)
want = sorted((x, y) for x in (1, 2, 3, 4) for y in "abc")
assert got == want, got
'
    pyassert "s4: no run executed twice, no metric lost or doubled (60 lines printed, 5 entries per history)" '
assert len(printed) == 60, len(printed)
byrun = {}
for p in printed:
    byrun.setdefault(p[0], []).append((p[1], p[2]))
dup = {r: v for r, v in byrun.items() if len(v) != 5}
assert not dup, dup
bad = {r["id"]: [e.get("step") for e in hist.get(r["id"], [])] for r in runs
       if [e.get("step") for e in hist.get(r["id"], [])] != [1, 2, 3, 4, 5]}
assert not bad, bad
' "$D/c1.log" "$D/c2.log"
    # Nothing failed or was preempted: a requeue here is spurious (e.g. the
    # new leader acting on idle statuses its predecessor had answered).
    # A lost first assignment ("never received") is s9's bug, noted only.
    grep -h "requeued\|never received\|preempted" "$D/c1.log" "$D/c2.log" >"$D/requeues.log"
    pyassert "s4: no run requeued at the takeover: every run attempt 1 (but for s9's lost first assignments)" '
log = open(os.path.join(D, "requeues.log")).read()
att = [(r["id"], r["attempt"], r.get("reason")) for r in runs if r["attempt"] != 1]
for a in att:
    print("# run %s: attempt %d" % (a[0], a[1]))
lost = ["never received run %s" % a[0] in log for a in att]
assert all(lost) and all(a[1] == 2 for a in att), att
' "$D/requeues.log" "$D/w1.log" "$D/w2.log" "$D/c1.log" "$D/c2.log"
    if grep -q "leading, fencing token" "$D/$NEW.log"; then
        ok "s4: $NEW logs that it leads"
    else
        notok "s4: $NEW logs that it leads" "$D/$NEW.log"
    fi
    teardown
}

# ---- s5: a run longer than max.poll.interval.ms ------------------------------

s5() {
    setup s5 || return
    # librdkafka refuses max.poll.interval.ms below session.timeout.ms
    # (default 45 s); record whether it does for our programs.
    "$WRK" --brokers "$BOOT" --kafka max.poll.interval.ms=2000 --count 1 nosweep \
        >"$D/maxpoll-alone.log" 2>&1 &
    MP=$!
    IT_ALL="$IT_ALL $MP"
    it_wait_exit "$MP" 3
    note "sweep-worker --kafka max.poll.interval.ms=2000 alone: exit $?: $(grep -m1 -i 'session.timeout.ms' "$D/maxpoll-alone.log" | cut -c 1-300)"
    it_alive "$MP" && it_stop "$MP"
    K="--kafka max.poll.interval.ms=2000 --kafka session.timeout.ms=1500"
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  sleep: {value: 1}
  steps: {value: 6}"
    # shellcheck disable=SC2086
    controller ctl $K
    create "$D/sweep.yaml" || return
    # shellcheck disable=SC2086
    worker w1 $K "$SID"
    W1=$IT_PID
    # shellcheck disable=SC2086
    worker w2 $K "$SID"
    W2=$IT_PID
    expect_exit "s5: worker 1 (max.poll.interval.ms=2000) exits 0 when the sweep is finished" \
        "$W1" 40 0 "$D/w1.log" "$D/ctl.log"
    expect_exit "s5: worker 2 (max.poll.interval.ms=2000) exits 0 when the sweep is finished" \
        "$W2" 20 0 "$D/w2.log" "$D/ctl.log"
    fetch
    pyassert "s5: the 6 s run completes exactly once: 1 run, attempt 1, finished, 6 steps, one execution" '
assert len(runs) == 1, runs
a = runs[0]
log = open(os.path.join(D, "ctl.log")).read()
if a["attempt"] == 2 and ("never received run %s" % a["id"]) in log:
    print("# s5: attempt 1 of run %s was never received (see s9): attempt 2" % a["id"])
    a = dict(a, attempt=1)
assert (a["state"], a["attempt"], a.get("steps"), a.get("exit_code")) == ("finished", 1, 6, 0), a
assert a["ended_at"] - a["started_at"] >= 5000, (a["started_at"], a["ended_at"])
assert [e.get("step") for e in hist[a["id"]]] == list(range(1, 7)), hist[a["id"]]
assert len(printed) == 6 and len({p[1] for p in printed}) == 1, printed
assert status.get("state") == "finished", status
' "$D/ctl.log" "$D/w1.log" "$D/w2.log"
    if grep -Eqi "max.poll|poll interval|reassign|crashed|never started" "$D/ctl.log" "$D/w1.log" "$D/w2.log"; then
        notok "s5: no poll-interval, crash or reassignment messages in the logs" "$D/ctl.log" "$D/w1.log" "$D/w2.log"
    else
        ok "s5: no poll-interval, crash or reassignment messages in the logs"
    fi
    teardown
}

# ---- s6: the metrics topic read from outside ---------------------------------

s6() {
    setup s6 --prefix t6 || return
    cat >"$D/sweep.yaml" <<EOF
method: grid
program: $PROGS/metrics.py
parameters:
  n: {values: [2, 3, 5]}
command:
  - /usr/bin/python3
  - \${program}
  - \${args}
EOF
    controller ctl --prefix t6
    create "$D/sweep.yaml" --prefix t6 || return
    worker w1 --prefix t6 "$SID"
    W1=$IT_PID
    worker w2 --prefix t6 "$SID"
    W2=$IT_PID
    expect_exit "s6: worker 1 exits 0 when the sweep is finished" "$W1" 40 0 "$D/w1.log" "$D/ctl.log"
    expect_exit "s6: worker 2 exits 0 when the sweep is finished" "$W2" 20 0 "$D/w2.log" "$D/ctl.log"
    if timeout 60 "$PY" "$CHECK" read "$BOOT" t6.metrics "$ROOT/schemas" "$D/printed" "$SID" \
        >"$D/check.out" 2>&1; then
        ok "s6: kafka-python + python3-avro decode every message of t6.metrics; count = metric lines printed ($(sed -n 's/^# //p' "$D/check.out" | head -n 1))"
    else
        notok "s6: kafka-python + python3-avro decode every message of t6.metrics; count = metric lines printed" \
            "$D/check.out"
    fi
    n_printed=$(cat "$D/printed/"*.jsonl 2>/dev/null | wc -l)
    it_wait 10 hist_total_is "$n_printed"
    fetch
    for r in $(rcli ZRANGE "sw:s:$SID:runs" 0 -1); do
        echo "$r: $(rcli HGETALL "sw:r:$SID:$r" | tr '\n' ' ')"
    done >"$D/runs.redis"
    pyassert "s6: Redis has one history entry per metric line printed ($n_printed)" '
want = {}
for name in os.listdir(os.path.join(D, "printed")):
    if name.endswith(".jsonl"):
        with open(os.path.join(D, "printed", name)) as f:
            want[name.rsplit("-", 1)[0]] = sum(1 for l in f if l.strip())
have = {r: len(h) for r, h in hist.items()}
assert len(runs) == 3 and want == have, (want, have)
assert all(r["state"] == "finished" and r.get("steps") == have[r["id"]] for r in runs), runs
' "$D/runs.redis" "$D/ctl.log"
    teardown
}

# ---- s7: garbage on every topic ----------------------------------------------

s7() {
    setup s7 || return
    timeout 30 "$PY" "$CHECK" garbage "$ROOT/schemas" "$D/garbage" >"$D/garbage.out" 2>&1 ||
        notok "s7: check_metrics.py garbage writes the messages" "$D/garbage.out"
    controller ctl --lease-timeout 10
    CPID=$IT_PID
    worker w1 --pool default
    W1=$IT_PID
    worker w2 --pool default
    W2=$IT_PID
    it_wait 15 grep -q "leading, fencing token" "$D/ctl.log"
    it_wait 15 grep -q "ready" "$D/w1.log"
    it_wait 15 grep -q "ready" "$D/w2.log"
    sleep 0.5 # the workers' reader is at the end of .assign
    n=0
    for t in control assign events metrics; do
        set -- "$D/garbage/$t/"*
        n=$#
        {
            timeout 20 "$KCAT" -P -b "$BOOT" -t "$PFX.$t" "$@"
            # an empty value, then a NULL one (kcat skips empty files)
            printf 'garbage:\n' | timeout 20 "$KCAT" -P -b "$BOOT" -t "$PFX.$t" -K:
            printf 'garbage:\n' | timeout 20 "$KCAT" -P -Z -b "$BOOT" -t "$PFX.$t" -K:
        } >>"$D/kcat.log" 2>&1
    done
    # The workers refuse unsigned bytes before decoding them: the same
    # garbage, signed with our key, reaches their decoder.
    ns=0
    for f in "$D/garbage/assign/"*; do
        sig=$(PYTHONPATH=$ROOT/tests/integration "$PY" "$ROOT/tests/integration/forge.py" \
            sign "$SWEEP_SIGNING_KEY_FILE" $PFX.assign "" "$f")
        timeout 20 "$KCAT" -P -b "$BOOT" -t $PFX.assign -H "sweep-sig=$sig" "$f" \
            >>"$D/kcat.log" 2>&1
        ns=$((ns + 1))
    done
    n=$((n + 2))
    note "sent $n malformed messages to each of sweeps.{control,assign,events,metrics} (+ an empty and a NULL value)"
    sleep 2
    for p in "ctl:$CPID" "w1:$W1" "w2:$W2"; do
        if it_alive "${p#*:}"; then
            ok "s7: ${p%%:*} is still running after the garbage"
        else
            notok "s7: ${p%%:*} is still running after the garbage" "$D/${p%%:*}.log"
        fi
    done
    for t in control events metrics; do
        c=$(grep -c "skipping malformed message at $PFX.$t \[[0-9]*\] offset [0-9]*" "$D/ctl.log")
        if [ "$c" -ge 1 ]; then
            ok "s7: the controller logs malformed messages on $PFX.$t ($c)"
        else
            notok "s7: the controller logs malformed messages on $PFX.$t" "$D/ctl.log"
        fi
        if [ "$c" -eq "$n" ]; then
            ok "s7: the controller skips each of the $n messages on $PFX.$t once"
        else
            notok "s7: the controller skips each of the $n messages on $PFX.$t once (logged $c)" "$D/ctl.log"
        fi
    done
    for w in w1 w2; do
        c=$(grep -c "refused a message at $PFX.assign \[[0-9]*\] offset [0-9]*: unsigned" "$D/$w.log")
        if [ "$c" -eq "$n" ]; then
            ok "s7: $w refuses each of the $n unsigned messages on $PFX.assign once"
        else
            notok "s7: $w refuses each of the $n unsigned messages on $PFX.assign once (logged $c)" "$D/$w.log"
        fi
        c=$(grep -c "skipping malformed message at $PFX.assign \[[0-9]*\] offset [0-9]*" "$D/$w.log")
        if [ "$c" -eq "$ns" ]; then
            ok "s7: $w skips each of the $ns signed malformed messages on $PFX.assign once"
        else
            notok "s7: $w skips each of the $ns signed malformed messages on $PFX.assign once (logged $c)" "$D/$w.log"
        fi
    done
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3]}
  steps: {value: 3}"
    if create "$D/sweep.yaml" && it_wait 30 sweep_field_is n:finished 3; then
        fetch
        pyassert "s7: a sweep created after the garbage completes (3 runs finished, 3 steps each)" '
assert status.get("state") == "finished", status
assert len(runs) == 3 and all(r["state"] == "finished" and r.get("steps") == 3 for r in runs), runs
assert sorted(r["params"]["x"] for r in runs) == [1, 2, 3], runs
' "$D/ctl.log"
    else
        notok "s7: a sweep created after the garbage completes (state '$(sweep_state)', finished $(rcli HGET "sw:s:$SID" n:finished))" \
            "$D/ctl.log" "$D/w1.log" "$D/w2.log"
    fi
    kill -TERM "$CPID" "$W1" "$W2"
    expect_exit "s7: the controller exits 0 on SIGTERM" "$CPID" 10 0 "$D/ctl.log"
    expect_exit "s7: pool worker 1 exits 0 on SIGTERM" "$W1" 10 0 "$D/w1.log"
    expect_exit "s7: pool worker 2 exits 0 on SIGTERM" "$W2" 10 0 "$D/w2.log"
    # The counters, as each program prints them when it stops.
    want=$((3 * n))
    if grep -q "stopping: .*($want malformed, skipped)" "$D/ctl.log"; then
        ok "s7: the controller counts $want malformed messages"
    else
        notok "s7: the controller counts $want malformed messages (its 'stopping:' line)" "$D/ctl.log"
    fi
    for w in w1 w2; do
        if grep -q "leaving after .*($ns malformed messages skipped, $n refused as unsigned" "$D/$w.log"; then
            ok "s7: $w counts $ns malformed and $n refused messages"
        else
            notok "s7: $w counts $ns malformed and $n refused messages (its 'leaving' line)" "$D/$w.log"
        fi
    done
    teardown
}

# ---- s9: workers joining at once each get their first run -------------------

# A new worker reads .assign from its end and announces itself idle at
# once; an assignment produced before its reader's end offset is resolved
# is skipped, found lost only ASSIGN_LOST_MS (3 s) later and sent again as
# attempt 2. A race: four waves of 8 workers (--count 2) on 64 points
# make it likely to show.
s9() {
    setup s9 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]}
  y: {values: [1, 2, 3, 4]}
  steps: {value: 1}"
    controller ctl
    create "$D/sweep.yaml" || return
    it_wait 10 grep -q "leading sweep '$SID'" "$D/ctl.log"
    for wave in 1 2 3 4; do
        wp=""
        for i in 1 2 3 4 5 6 7 8; do
            worker "w$wave-$i" --count 2 "$SID"
            wp="$wp $IT_PID"
        done
        bad=0
        for p in $wp; do
            it_wait_exit "$p" 30 || bad=$((bad + 1))
        done
        if [ "$bad" -eq 0 ]; then
            ok "s9: wave $wave: 8 new workers exit 0 after 2 runs each"
        else
            notok "s9: wave $wave: 8 new workers exit 0 after 2 runs each ($bad did not)" "$D/ctl.log"
        fi
    done
    fetch
    grep -h "never received" "$D/ctl.log" >"$D/lost.log"
    pyassert "s9: 32 workers joining in waves of 8 each get their first assignment (64 runs, attempt 1, none lost)" '
assert len(runs) == 64 and all(r["state"] == "finished" for r in runs), \
    [(r["id"], r["state"]) for r in runs]
att = [(r["id"], r["attempt"]) for r in runs if r["attempt"] != 1]
assert not att, ("requeued", att)
' "$D/lost.log"
    teardown
}

# ---- s10: metric events the broker lost are counted --------------------------

# The worker skips sending metric events 3, 7 and 10 of the run
# ($SWEEP_TEST_DROP_METRICS), as a broker that dropped them would lose them
# (the embedded one keeps 5 MiB per partition). metrics.py --n=4 prints 10
# metric lines. The gaps in seq show at once, the last one by the end
# event's last_metric_seq.
s10() {
    setup s10 || return
    cat >"$D/sweep.yaml" <<EOF
method: grid
program: $PROGS/metrics.py
parameters:
  n: {value: 4}
command:
  - /usr/bin/python3
  - \${program}
  - \${args}
EOF
    controller ctl
    CPID=$IT_PID
    create "$D/sweep.yaml" || return
    SWEEP_TEST_DROP_METRICS=3,7,10
    export SWEEP_TEST_DROP_METRICS
    worker w1 "$SID"
    W1=$IT_PID
    unset SWEEP_TEST_DROP_METRICS
    expect_exit "s10: the worker exits 0 when the sweep is finished" "$W1" 40 0 "$D/w1.log" "$D/ctl.log"
    n_printed=$(cat "$D/printed/"*.jsonl 2>/dev/null | wc -l)
    it_wait 10 hist_total_is 7
    fetch
    pyassert "s10: 3 of $n_printed metric events lost: sweep runs --json says metrics_lost 3, metrics_sent 10, steps 7; sweep status --json metrics_lost 3 in 1 run" '
assert len(runs) == 1 and runs[0]["state"] == "finished", runs
r = runs[0]
assert r.get("metrics_sent") == 10 and r.get("steps") == 7, r
assert r.get("metrics_lost") == 3, r
assert status.get("metrics_lost") == 3, status
assert status.get("runs_with_metrics_lost") == 1, status
' "$D/ctl.log"
    for seq in 4 8; do
        want="1 metric event lost before seq $seq ($PFX.metrics \[[0-9]*\] offset [0-9]*)"
        if grep -q "warn: .*attempt 1: $want" "$D/ctl.log"; then
            ok "s10: the controller logs '1 metric event lost before seq $seq ($PFX.metrics [P] offset O)'"
        else
            notok "s10: the controller logs '1 metric event lost before seq $seq ($PFX.metrics [P] offset O)'" "$D/ctl.log"
        fi
    done
    timeout 30 "$SWEEP" runs "$SID" --redis "$REDIS_URL" >"$D/runs.txt" 2>&1
    if grep -q "lost: 3 metric events never arrived" "$D/runs.txt"; then
        ok "s10: sweep runs says 'lost: 3 metric events never arrived'"
    else
        notok "s10: sweep runs says 'lost: 3 metric events never arrived'" "$D/runs.txt"
    fi
    timeout 30 "$SWEEP" status "$SID" --redis "$REDIS_URL" >"$D/status.txt" 2>&1
    if grep -q "^lost     3 metric events in 1 run(s) (sweep runs $SID shows which)" "$D/status.txt"; then
        ok "s10: sweep status says 'lost     3 metric events in 1 run(s)'"
    else
        notok "s10: sweep status says 'lost     3 metric events in 1 run(s)'" "$D/status.txt"
    fi
    kill -TERM "$CPID"
    it_wait_exit "$CPID" 10
    if grep -q "metric events applied (2 lost before they arrived)" "$D/ctl.log"; then
        ok "s10: the controller's stopping line counts the 2 lost in gaps"
    else
        notok "s10: the controller's stopping line counts the 2 lost in gaps" "$D/ctl.log"
    fi
    teardown
}

# ---- s11: messages delivered twice ------------------------------------------

# Kafka delivers at least once: a producer retry after a lost ack repeats a
# message. While the first run runs, then while the second runs (the first
# has ended), every message of .assign, .events and .control is sent
# again, 3.5 s into the run: the worker runs each run once and gives none
# back; the controller takes the repeated lifecycle events, the repeated
# "create" and the idle statuses the worker sent before it got its run (its
# "received" count behind the run's) for history, requeuing nothing.
# running_after N: one run running, N finished (a field never set is 0)
running_after() {
    ra_f=$(rcli HGET "sw:s:$SID" n:finished 2>/dev/null)
    sweep_field_is n:running 1 && [ "${ra_f:-0}" = "$1" ]
}

s11() {
    setup s11 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2]}
  steps: {value: 8}
  sleep: {value: 0.6}"
    controller ctl
    create "$D/sweep.yaml" || return
    worker w1 "$SID"
    W1=$IT_PID
    sent=0
    for f in 0 1; do
        if ! it_wait 20 running_after "$f"; then
            notok "s11: a run is running with $f finished" "$D/w1.log" "$D/ctl.log"
            teardown
            return
        fi
        sleep 3.5 # past the controller's 3 s wait for a lost assignment
        n=$(timeout 40 "$PY" "$CHECK" replay "$BOOT" $PFX.assign 2>>"$D/replay.err")
        e=$(timeout 40 "$PY" "$CHECK" replay "$BOOT" $PFX.events 2>>"$D/replay.err")
        k=$(timeout 40 "$PY" "$CHECK" replay "$BOOT" $PFX.control 2>>"$D/replay.err")
        note "sent again the $n message(s) of $PFX.assign, the $e of $PFX.events and the $k of $PFX.control with $f run(s) finished"
        sent=$((sent + ${n:-0}))
    done
    expect_exit "s11: the worker exits 0 when the sweep is finished" "$W1" 30 0 "$D/w1.log" "$D/ctl.log"
    it_wait 10 hist_total_is 16
    fetch
    pyassert "s11: 2 runs, each run once: attempt 1, finished, 8 lines printed and 8 entries" '
assert len(runs) == 2, [r["id"] for r in runs]
assert all(r["state"] == "finished" and r["attempt"] == 1 for r in runs), \
    [(r["id"], r["state"], r["attempt"]) for r in runs]
assert len(printed) == 16, len(printed)
bad = {r["id"]: [e.get("step") for e in hist.get(r["id"], [])] for r in runs
       if [e.get("step") for e in hist.get(r["id"], [])] != list(range(1, 9))}
assert not bad, bad
' "$D/w1.log" "$D/ctl.log"
    # 1 the first time; the 2 assignments and the first repeat the second
    c=$(grep -c "assignment delivered again: ignored" "$D/w1.log")
    if [ "$sent" -eq 4 ] && [ "$c" -eq 4 ]; then
        ok "s11: the worker ignores the 4 repeated assignments (1 while the first run ran, 3 while the second)"
    else
        notok "s11: the worker ignores the 4 repeated assignments (sent $sent, logged $c)" "$D/w1.log" "$D/replay.err"
    fi
    if ! grep -q "given back\|preempted\|requeued\|never received" "$D/w1.log" "$D/ctl.log"; then
        ok "s11: no run given back, preempted or requeued, no assignment taken for lost"
    else
        notok "s11: no run given back, preempted or requeued, no assignment taken for lost" "$D/w1.log" "$D/ctl.log"
    fi
    teardown
}

# ---- s12: an idle status delivered late --------------------------------------

# fake_worker.py (kafka-python + python3-avro, no sweep-worker) runs 2 runs,
# then sends an idle status from before its 2nd run arrived, then the true
# one. The stale status must not be a request: one run follows, whose
# wseq is the worker's count once it has it (3). Then it acts as if run 3's
# assignment were lost: run 3 is requeued after 3 s and assigned again.
s12() {
    setup s12 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3]}"
    controller ctl
    create "$D/sweep.yaml" || return
    it_wait 10 grep -q "leading sweep '$SID'" "$D/ctl.log"
    timeout 60 "$PY" "$ROOT/tests/integration/fake_worker.py" stale "$BOOT" \
        "$ROOT/schemas" "$SID" fake-s12-1 >"$D/fake.json" 2>"$D/fake.err"
    it_wait 10 sweep_field_is state finished
    fetch
    pyassert "s12: a stale idle status is no request: 1 run follows it (not 2), with wseq 3" '
out = load("fake.json", {"error": "no output"})
assert "error" not in out, out
print("# fake worker got: %s" % {k: [a[:2] for a in v] for k, v in out.items()})
p1, p2 = out["phase1"], out["phase2"]
assert len(p1) == 2 and p1[0][0] != p1[1][0] and all(a[1] == 1 for a in p1), p1
assert len(p2) == 1 and p2[0][1] == 1 and p2[0][0] not in [a[0] for a in p1], p2
r3 = [r for r in runs if r["id"] == p2[0][0]]
assert r3 and r3[0].get("wseq") == 3, r3
' "$D/fake.err" "$D/ctl.log"
    pyassert "s12: run 3, never started, is requeued and assigned again (attempt 2); the sweep finishes with 3 runs" '
out = json.load(open(os.path.join(D, "fake.json")))
r3 = out["phase2"][0][0]
assert [a[:2] for a in out["phase3"]] == [[r3, 2]], out["phase3"]
assert status.get("state") == "finished", status.get("state")
assert sorted(r["state"] for r in runs) == ["finished"] * 3, [(r["id"], r["state"]) for r in runs]
' "$D/fake.err" "$D/ctl.log"
    n=$(grep -c "never received run" "$D/ctl.log")
    if [ "$n" -eq 1 ]; then
        ok "s12: the controller logs the lost assignment once"
    else
        notok "s12: the controller logs the lost assignment once (got $n)" "$D/ctl.log"
    fi
    v=$(rcli GET sw:w:fake-s12-1:wseq)
    t=$(rcli PTTL sw:w:fake-s12-1:wseq)
    if [ "$v" = 3 ] && [ "${t:-0}" -gt 600000000 ]; then
        ok "s12: Redis keeps the worker's count for the next leader (sw:w:<worker>:wseq 3, 7 days)"
    else
        echo "sw:w:fake-s12-1:wseq '$v', PTTL '$t'" >"$D/wseq.out"
        notok "s12: Redis keeps the worker's count for the next leader (sw:w:<worker>:wseq 3, 7 days)" "$D/wseq.out"
    fi
    teardown
}

# ---- s13: a new leader reads a status its predecessor answered ---------------

# fake_worker.py runs 2 runs under c1; c1 is SIGKILLed; once c2 leads, the
# worker sends it an idle status from before its 2nd run. c2 knows from
# Redis what c1 had sent (sw:w:<worker>:wseq): no run follows; the true
# status then gets exactly one.
s13() {
    setup s13 || return
    grid_yaml "$D/sweep.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3]}"
    controller c1 --lease-ttl 1500 --name c1
    C1=$IT_PID
    if ! it_wait 10 holder_is c1; then
        notok "s13: controller c1 takes the lease" "$D/c1.log"
    fi
    controller c2 --lease-ttl 1500 --name c2
    create "$D/sweep.yaml" || return
    timeout 90 "$PY" "$ROOT/tests/integration/fake_worker.py" takeover "$BOOT" \
        "$ROOT/schemas" "$SID" fake-s13-1 "$D" >"$D/fake.json" 2>"$D/fake.err" &
    FK=$!
    if it_wait 40 test -e "$D/ready"; then
        kill -KILL "$C1"
        it_wait 10 holder_is c2 || notok "s13: c2 takes the lease" "$D/c2.log"
        : >"$D/go"
    fi
    wait "$FK"
    it_wait 10 sweep_field_is state finished
    fetch
    pyassert "s13: after the takeover a stale status gets no run; the true one gets 1; 3 runs, each attempt 1" '
out = load("fake.json", {"error": "no output"})
assert "error" not in out, out
print("# fake worker got: %s" % {k: [a[:2] for a in v] for k, v in out.items()})
assert len(out["before"]) == 2, out
assert out["stale"] == [], out["stale"]
assert len(out["after"]) == 1 and out["after"][0][1] == 1, out["after"]
assert out["end"] == [], out["end"]
assert status.get("state") == "finished", status.get("state")
assert sorted((r["state"], r["attempt"]) for r in runs) == [("finished", 1)] * 3, \
    [(r["id"], r["state"], r["attempt"]) for r in runs]
' "$D/fake.err" "$D/c1.log" "$D/c2.log"
    teardown
}

# ---- s14: a worker pool serving two sweeps -----------------------------------

# Two grid sweeps (4 and 3 points) created at once, two pool workers: both
# sweeps finish, every point once, each worker serving both sweeps in
# turn; the workers stay, as a pool does.
s14() {
    setup s14 || return
    grid_yaml "$D/a.yaml" "$STEPS_CMD" "  x: {values: [1, 2, 3, 4]}
  steps: {value: 3}
  sleep: {value: 0.1}"
    grid_yaml "$D/b.yaml" "$STEPS_CMD" "  x: {values: [5, 6, 7]}
  steps: {value: 3}
  sleep: {value: 0.1}"
    controller ctl
    create "$D/a.yaml" || return
    SA=$SID
    create "$D/b.yaml" || return
    SB=$SID
    worker w1 --pool default
    W1=$IT_PID
    worker w2 --pool default
    W2=$IT_PID
    both_done() {
        [ "$(rcli HGET "sw:s:$SA" n:finished)" = 4 ] && [ "$(rcli HGET "sw:s:$SB" n:finished)" = 3 ]
    }
    if it_wait 60 both_done; then
        ok "s14: two pool workers finish both sweeps (4 + 3 runs)"
    else
        notok "s14: two pool workers finish both sweeps ($(rcli HGET "sw:s:$SA" n:finished)/4, $(rcli HGET "sw:s:$SB" n:finished)/3)" \
            "$D/ctl.log" "$D/w1.log" "$D/w2.log"
    fi
    for id in "$SA" "$SB"; do
        SID=$id
        fetch
        mv "$D/runs.json" "$D/runs-$id.json"
    done
    export SA SB
    pyassert "s14: each grid point of each sweep ran once, on both workers between them" '
ra = load("runs-%s.json" % E["SA"], [])
rb = load("runs-%s.json" % E["SB"], [])
assert sorted(r["params"]["x"] for r in ra) == [1, 2, 3, 4], ra
assert sorted(r["params"]["x"] for r in rb) == [5, 6, 7], rb
assert all(r["state"] == "finished" and r["attempt"] == 1 for r in ra + rb), \
    [(r["id"], r["state"], r["attempt"]) for r in ra + rb]
byw = {r["worker"] for r in ra + rb}
assert len(byw) == 2, byw
print("# runs per worker: %s" % {w: sum(1 for r in ra + rb if r["worker"] == w) for w in byw})
' "$D/ctl.log"
    pyassert "s14: 21 metric lines printed, 3 per run, none twice" '
assert len(printed) == 21, len(printed)
assert len({tuple(p) for p in printed}) == 21
'
    if it_alive "$W1" && it_alive "$W2"; then
        ok "s14: the pool workers stay when both sweeps are done"
    else
        notok "s14: the pool workers stay when both sweeps are done" "$D/w1.log" "$D/w2.log"
    fi
    teardown
}

# ---- s8: SIGTERM a controller while Redis is down ---------------------------

s8() {
    setup s8 || return
    controller ctl
    CPID=$IT_PID
    it_wait 10 grep -q "leading, fencing token" "$D/ctl.log"
    it_stop "$REDIS_PID"
    sleep 1
    kill -TERM "$CPID"
    it_wait_exit "$CPID" 10
    rc=$?
    if [ "$rc" -ne 124 ]; then
        ok "s8: a controller whose Redis is down still stops on SIGTERM (exit $rc)"
    else
        notok "s8: a controller whose Redis is down still stops on SIGTERM within 10 s" "$D/ctl.log"
    fi
    teardown
}

for s in ${IT_ONLY:-s1 s2 s2b s3 s4 s5 s6 s7 s8 s9 s10 s11 s12 s13 s14}; do
    "$s"
done

note "total $(($(date +%s) - T0)) s"
it_done
