#!/bin/sh
# test_earlystop.sh - early termination end to end with real processes
# (broker, redis-server, controller, 3 workers): a 9-run grid whose program
# logs a learning curve step by step, a third of it clearly worse. The bad
# runs are killed at the first band where they are beaten (hyperband,
# band 3), the good ones finish, `sweep runs` shows each reason, and the
# workers do not count the kills as failures. Then the median rule on the
# same curves. Ends with "N passed, N failed".
. tests/integration/lib.sh
it_init test_earlystop

D=$IT_TMP
it_kafka broker || { notok "the Kafka of the test is there (${IT_KAFKA:-embedded})" "$D/broker.log"; it_done; }
it_redis redis || { notok "redis-server starts" "$D/redis.log"; it_done; }
it_bg ctl "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" --lease-timeout 5

# The curve (tests/integration/programs/curve.py): loss = base / step for 12 steps, 0.15 s apart; base 1 for
# the good kinds, 10 for the bad. Good runs tie at every step (ties
# survive), the bad ones are 10x worse from the first value on.

# mk NAME EARLY_TERMINATE: the 9-point grid, good kinds listed first so the
# first runs set the thresholds the bad ones are judged against.
mk() {
    cat >"$D/$1.yaml" <<EOF2
method: grid
metric: {name: loss, goal: minimize}
early_terminate: $2
parameters:
  kind: {values: [good1, good2, good3, good4, good5, good6, bad1, bad2, bad3]}
command: [$PY, $ROOT/tests/integration/programs/curve.py, "\${args}"]
EOF2
}

# run NAME: creates the sweep, runs 3 workers until it is done, leaves the
# runs in $D/NAME.json and the table in $D/NAME.txt.
run() {
    SID=$(timeout 30 "$SWEEP" create "$D/$1.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
        2>"$D/$1.create.err" | tail -n 1)
    if [ -z "$SID" ]; then
        notok "sweep create $1" "$D/$1.create.err"
        return 1
    fi
    for w in 1 2 3; do
        it_bg "$1_w$w" "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
        eval "W$w=\$IT_PID"
    done
    # shellcheck disable=SC2153
    for p in $W1 $W2 $W3; do it_wait_exit "$p" 90; done
    "$SWEEP" runs "$SID" --redis "$REDIS_URL" --json >"$D/$1.json" 2>"$D/$1.runs.err"
    "$SWEEP" runs "$SID" --redis "$REDIS_URL" >"$D/$1.txt" 2>>"$D/$1.runs.err"
}

# verify NAME PREFIX MAXSTEPS MESSAGE: in NAME's runs, the 3 bad ones are
# killed with a reason starting with PREFIX after 3..MAXSTEPS values, the
# 6 good ones finished all 12.
verify() {
    if "$PY" - "$D/$1.json" "$2" "$3" >"$D/$1.check" 2>&1 <<'PYEOF'
import json, sys
runs = json.load(open(sys.argv[1]))
prefix, maxsteps = sys.argv[2], int(sys.argv[3])
assert len(runs) == 9, len(runs)
for r in runs:
    kind = r["params"]["kind"]
    if kind.startswith("bad"):
        assert r["state"] == "killed", (kind, r["state"], r.get("reason"))
        assert r["reason"].startswith(prefix), (kind, r["reason"])
        assert 3 <= r["steps"] <= maxsteps, (kind, r["steps"])
    else:
        assert r["state"] == "finished", (kind, r["state"], r.get("reason"))
        assert r["steps"] == 12, (kind, r["steps"])
PYEOF
    then
        ok "$4"
    else
        notok "$4" "$D/$1.check" "$D/ctl.log"
    fi
}

mk hb "{type: hyperband, min_iter: 3, eta: 3}"
run hb
# stopped within milliseconds of its 3rd value: 0.15 s per step
verify hb "hyperband band 3: value 3.3333333333333335 is worse than threshold 0.3333333333333333" 4 \
    "hyperband: the 3 bad runs killed at band 3 (3-4 values), the 6 good ones finish all 12"
n=$(grep -c "hyperband band 3: value 3.3333333333333335 is worse than threshold" "$D/hb.txt")
check "sweep runs shows the reason of each killed run ($n of 3)" [ "$n" -eq 3 ]
n=$(grep -c "early stop: hyperband band 3" "$D/ctl.log")
check "the controller logged each early stop once ($n)" [ "$n" -eq 3 ]
check "killed runs are not failures: no worker gave up" \
    sh -c "! grep -q 'giving up' '$D'/hb_w*.log"
failed=$(rcli HGET "sw:s:$SID" n:failed)
check "killed runs are not failures: the sweep counts none (${failed:-0})" [ "${failed:-0}" -eq 0 ]

# The median rule: from the 3rd value on, a run whose best is worse than
# the median of the others at that step is stopped.
mk med "{type: median, min_iter: 3}"
run med
verify med "median step 3: best value 3.3333333333333335 is worse than median 0.3333333333333333" 4 \
    "median: the bad runs are stopped at step 3, the good ones finish all 12"
# 3. A stop for a run that already ended, and one for another attempt of
# the run that is running: the worker ignores both; the run finishes.
cat >"$D/slow.yaml" <<EOF2
method: random
run_cap: 2
parameters:
  x: {min: 0.0, max: 1.0}
command: [/bin/sh, -c, "for i in 1 2 3 4 5 6 7 8; do echo loss=\$i; sleep 0.25; done"]
EOF2
SID=$(timeout 30 "$SWEEP" create "$D/slow.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
    2>"$D/slow.create.err" | tail -n 1)
it_bg slow_w "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
WP=$IT_PID
second_running() { # the sweep's second run is running; sets R1 R2
    R1=$(rcli ZRANGE "sw:s:$SID:runs" 0 0)
    R2=$(rcli ZRANGE "sw:s:$SID:runs" 1 1)
    [ -n "$R2" ] && [ "$(rcli HGET "sw:r:$SID:$R2" state)" = running ]
}
if it_wait 30 second_running; then
    W=$(rcli HGET "sw:r:$SID:$R2" worker)
    A=$(rcli HGET "sw:r:$SID:$R2" attempt)
    if PYTHONPATH=$ROOT/tests/integration "$PY" - "$BOOT" "$SID" "$R1" "$R2" "$W" "$A" \
        "$ROOT/schemas" "$PFX" "$SWEEP_SIGNING_KEY_FILE" >"$D/inject.out" 2>&1 <<'PYEOF'
import io, struct, sys, time
import avro.io, avro.schema
from kafka import KafkaProducer
from forge import first_key, signature
boot, sid, r1, r2, worker, attempt, schemas, pfx, keyfile = sys.argv[1:]
schema = avro.schema.parse(open(schemas + "/run_command.avsc").read())
def msg(run, att):
    out = io.BytesIO()
    out.write(bytes([0]) + struct.pack(">I", 5))
    avro.io.DatumWriter(schema).write(
        {"sweep_id": sid, "run_id": run, "worker_id": worker, "attempt": att,
         "seq": 0, "ts_ms": int(time.time() * 1000), "command": "stop",
         "reason": "injected by the test"}, avro.io.BinaryEncoder(out))
    return out.getvalue()
p = KafkaProducer(bootstrap_servers=boot)
key = first_key(keyfile)
# Signed like the controller's: the worker must ignore them for what they
# say, not for their signature.
for run, att in ((r1, 1), (r2, int(attempt) + 1)):
    v = msg(run, att)
    p.send(pfx + ".assign", key=run.encode(), value=v,
           headers=[("sweep-sig", signature(key, pfx + ".assign", run, v).encode())])
p.flush()
PYEOF
    then
        it_wait_exit "$WP" 30
        st=$(rcli HGET "sw:r:$SID:$R2" state)
        check "stops for an ended run and another attempt are ignored: the run finishes ($st)" \
            [ "$st" = finished ]
        check "... and the ended run stays finished" [ "$(rcli HGET "sw:r:$SID:$R1" state)" = finished ]
        check "... they were signed: the worker refused none" \
            sh -c "! grep -q 'refused a message' '$D/slow_w.log'"
    else
        notok "inject the stop commands (kafka-python)" "$D/inject.out"
    fi
else
    notok "the slow sweep's second run starts" "$D/slow_w.log"
fi
it_done
