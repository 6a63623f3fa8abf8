#!/bin/sh
# test_security.sh - what someone who can write to the topics, but holds
# no key, can do to the workers: nothing. Real processes over loopback
# (sweep broker, redis-server, sweep-controller, sweep-worker); forged
# messages are produced with kcat, their bytes made by forge.py from the
# schemas alone. Also: --allow-program, the signing-key rules, a forged
# cancel, and secrets that never show in logs, ps, --dump-config or a
# run's environment.
#
# Run from the repository root: sh tests/integration/test_security.sh
# Ends with "N passed, N failed".
set -u

. tests/integration/lib.sh
it_init test_security

D=$IT_TMP
PROGS=$ROOT/tests/integration/programs
FORGE="$PY $ROOT/tests/integration/forge.py"
SCHEMAS=$ROOT/schemas
KEY=$SWEEP_SIGNING_KEY_FILE
export PYTHONPATH=$ROOT/tests/integration

it_broker broker || { notok "sweep broker starts" "$D/broker.log"; it_done; }
it_redis redis || { notok "redis-server starts" "$D/redis.log"; it_done; }
ASSIGN=sweeps.assign

# worker_id LOG: the id a worker logged at start.
worker_id() {
    sed -n 's/.*worker \([^ ]*\) ready.*/\1/p' "$1" | head -n 1
}

# produce FILE KEY [HEADER]: one message with kcat.
produce() {
    if [ -n "${3:-}" ]; then
        "$KCAT" -P -b "$BOOT" -t "$ASSIGN" -k "$2" -H "sweep-sig=$3" "$1"
    else
        "$KCAT" -P -b "$BOOT" -t "$ASSIGN" -k "$2" "$1"
    fi
}

# assignment OUT WORKER_JSON SWEEP RUN TOUCHED: a run assignment whose
# command creates TOUCHED (proof that it ran).
assignment() {
    $FORGE encode "$SCHEMAS" run_assignment "{\"sweep_id\": \"$3\", \"run_id\": \"$4\",
        \"worker_id\": $2, \"attempt\": 1, \"seq\": 0, \"ts_ms\": $(date +%s)000,
        \"params_json\": \"{}\", \"command\": [\"/bin/sh\", \"-c\", \"touch $5\"]}" "$1"
}

# ---- a controller, a bound worker busy with a long run, an idle pool worker

cat >"$D/long.yaml" <<EOF
method: grid
parameters:
  steps: {value: 40}
  sleep: {value: 0.5}
command:
  - /bin/sh
  - $PROGS/steps.sh
  - \${args}
EOF
it_bg ctl "$CTL" --brokers "$BOOT" --redis "$REDIS_URL"
CTLP=$IT_PID
S1=$(timeout 30 "$SWEEP" create "$D/long.yaml" --brokers "$BOOT" --redis "$REDIS_URL" 2>"$D/create.err" | tail -n 1)
it_bg w1 "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$S1"
W1=$IT_PID
sweep_n() { [ "$(rcli HGET "sw:s:$S1" "n:$1")" = "$2" ]; }
if it_wait 20 sweep_n running 1; then
    ok "a signed sweep runs: the bound worker took its one run"
else
    notok "a signed sweep runs: the bound worker took its one run" "$D/ctl.log" "$D/w1.log"
fi
# Only now: a pool worker serves every sweep, it would have taken it.
it_bg pool "$WRK" --brokers "$BOOT" --run-dir "$D/runs"
POOL=$IT_PID
RUN=$(rcli ZRANGE "sw:s:$S1:runs" 0 0)
it_wait 10 grep -q "ready" "$D/pool.log"
W1ID=$(worker_id "$D/w1.log")
PID_=$(worker_id "$D/pool.log")
it_wait 10 grep -q "joined (pool)" "$D/ctl.log"
note "bound worker $W1ID runs $S1/$RUN; pool worker $PID_ idles"

# refused N LOG TEXT: LOG has N or more refusals with TEXT, each naming
# topic, partition and offset.
refused() {
    [ "$(grep -c "refused a message at $ASSIGN \[[0-9]*\] offset [0-9]*: $3" "$2")" -ge "$1" ]
}

# ---- 1. the forged assignments of the issue, with kcat ----------------------

assignment "$D/a1" "\"$PID_\"" nosuch r1 "$D/pwned1"
produce "$D/a1" r1
assignment "$D/a2" null "$S1" r2 "$D/pwned2"
produce "$D/a2" r2
if it_wait 10 refused 1 "$D/pool.log" unsigned && it_wait 5 refused 2 "$D/w1.log" unsigned; then
    ok "unsigned assignments (to the idle pool worker, and with worker_id null) are refused, logged with topic, partition and offset"
else
    notok "unsigned assignments are refused and logged with topic, partition and offset" "$D/pool.log" "$D/w1.log"
fi
SIG=$($FORGE sign - "$ASSIGN" r1 "$D/a1")
produce "$D/a1" r1 "$SIG"
if it_wait 10 refused 1 "$D/pool.log" "signed with a key this program does not hold"; then
    ok "an assignment signed with another key is refused"
else
    notok "an assignment signed with another key is refused" "$D/pool.log"
fi
REAL=$($FORGE sign "$KEY" "$ASSIGN" r1 "$D/a1")
FAKE="${REAL%%.*}.$(printf '%064d' 0)"
produce "$D/a1" r1 "$FAKE"
if it_wait 10 refused 1 "$D/pool.log" "bad signature"; then
    ok "an assignment with our key's id but a forged MAC is refused"
else
    notok "an assignment with our key's id but a forged MAC is refused" "$D/pool.log"
fi
produce "$D/a1" r1 "garbage"
if it_wait 10 refused 1 "$D/pool.log" "malformed signature"; then
    ok "an assignment with a malformed signature header is refused"
else
    notok "an assignment with a malformed signature header is refused" "$D/pool.log"
fi

# ---- 2. signed, but not asked for (what a holder of the key could send) ------

SIG=$($FORGE sign "$KEY" "$ASSIGN" r2 "$D/a2")
produce "$D/a2" r2 "$SIG"
if it_wait 10 grep -q "dropped an assignment at $ASSIGN \[[0-9]*\] offset [0-9]*: it names no worker" "$D/pool.log" &&
    it_wait 5 grep -q "dropped an assignment.*it names no worker" "$D/w1.log"; then
    ok "a signed assignment with worker_id null is dropped by every worker, none crashes"
else
    notok "a signed assignment with worker_id null is dropped by every worker" "$D/pool.log" "$D/w1.log"
fi
assignment "$D/a3" "\"$W1ID\"" other r3 "$D/pwned3"
produce "$D/a3" r3 "$($FORGE sign "$KEY" "$ASSIGN" r3 "$D/a3")"
if it_wait 10 grep -q "dropped an assignment.*serves sweep $S1 only" "$D/w1.log"; then
    ok "a signed assignment for another sweep is dropped by a bound worker"
else
    notok "a signed assignment for another sweep is dropped by a bound worker" "$D/w1.log"
fi
$FORGE encode "$SCHEMAS" run_command "{\"sweep_id\": \"$S1\", \"run_id\": \"\",
    \"worker_id\": \"$PID_\", \"attempt\": 0, \"seq\": 0, \"ts_ms\": 0,
    \"command\": \"sweep_done\", \"reason\": \"forged\"}" "$D/c1"
produce "$D/c1" "$PID_" "$($FORGE sign "$KEY" "$ASSIGN" "$PID_" "$D/c1")"
if it_wait 10 grep -q "dropped a sweep_done command.*a pool worker serves every sweep" "$D/pool.log"; then
    ok "a sweep_done sent to a pool worker is dropped: the pool worker stays"
else
    notok "a sweep_done sent to a pool worker is dropped" "$D/pool.log"
fi

# ---- 3. replaying and redirecting a real assignment --------------------------

mkdir -p "$D/cap"
if $FORGE capture "$BOOT" "$ASSIGN" "$RUN" "$D/cap" >"$D/capture.out" 2>&1; then
    produce "$D/cap/value" "$RUN" "$(cat "$D/cap/sig")"
    if it_wait 10 grep -q "run $S1/$RUN attempt 1: assignment delivered again: ignored" "$D/w1.log"; then
        ok "the controller's own assignment, replayed, is ignored"
    else
        notok "the controller's own assignment, replayed, is ignored" "$D/w1.log"
    fi
    $FORGE rewrite "$SCHEMAS" "$D/cap/value" worker_id "\"$PID_\"" "$D/cap/redirected"
    produce "$D/cap/redirected" "$RUN" "$(cat "$D/cap/sig")"
    if it_wait 10 refused 2 "$D/pool.log" "bad signature"; then
        ok "the same assignment redirected to another worker fails its signature"
    else
        notok "the same assignment redirected to another worker fails its signature" "$D/pool.log"
    fi
else
    notok "capture the controller's assignment of run $RUN" "$D/capture.out"
fi

# ---- 4. a forged cancel on the control topic ----------------------------------

$FORGE encode "$SCHEMAS" sweep_control "{\"sweep_id\": \"$S1\", \"action\": \"cancel\",
    \"ts_ms\": 0}" "$D/cancel"
"$KCAT" -P -b "$BOOT" -t sweeps.control -k "$S1" "$D/cancel"
it_wait 10 grep -q "sweep '$S1': cancel" "$D/ctl.log"
sleep 1
if [ "$(rcli HGET "sw:r:$S1:$RUN" state)" = running ] && ! grep -q "SIGTERM" "$D/w1.log"; then
    ok "a forged cancel on the control topic (the sweep is not canceled in Redis) stops nothing"
else
    notok "a forged cancel stops nothing (run $(rcli HGET "sw:r:$S1:$RUN" state))" "$D/ctl.log" "$D/w1.log"
fi

# ---- 5. nothing ran; everyone is alive; the real run ends well ---------------

sleep 1
ls "$D"/pwned* >"$D/pwned.out" 2>/dev/null
check "no forged command ran on any worker (no pwned files)" [ ! -s "$D/pwned.out" ]
check "both workers and the controller are alive after the forgeries" \
    sh -c "kill -0 $W1 && kill -0 $POOL && kill -0 $CTLP"
if it_wait 30 sweep_n finished 1; then
    ok "the real run finishes"
else
    notok "the real run finishes (state $(rcli HGET "sw:r:$S1:$RUN" state))" "$D/w1.log" "$D/ctl.log"
fi
it_wait_exit "$W1" 15
check "the bound worker exits 0 when its sweep is done" [ $? -eq 0 ]
n=$(find "$D/runs/$S1" -mindepth 1 -maxdepth 1 | wc -l)
check "the run ran once ($n run directories)" [ "$n" -eq 1 ]
kill -TERM "$POOL"
it_wait_exit "$POOL" 10
grep "leaving after" "$D/pool.log" | cut -c 1-300 | sed 's/^/# /'
if grep -q "refused as unsigned or badly signed" "$D/pool.log" &&
    [ "$(sed -n 's/.*skipped, \([0-9]*\) refused as unsigned.*/\1/p' "$D/pool.log")" -ge 4 ]; then
    ok "the pool worker counts what it refused (at least 4) in its exit line"
else
    notok "the pool worker counts what it refused in its exit line" "$D/pool.log"
fi

# ---- 6. --allow-program -------------------------------------------------------

cat >"$D/evil.yaml" <<EOF
method: random
run_cap: 1
parameters:
  x: {min: 0.0, max: 1.0}
command:
  - /bin/sh
  - -c
  - touch $D/pwned_allow
EOF
S2=$(timeout 30 "$SWEEP" create "$D/evil.yaml" --brokers "$BOOT" --redis "$REDIS_URL" 2>>"$D/create.err" | tail -n 1)
it_bg w2 "$WRK" --brokers "$BOOT" --run-dir "$D/runs" --allow-program "$PROGS" "$S2"
it_wait_exit "$IT_PID" 20
r2=$(rcli ZRANGE "sw:s:$S2:runs" 0 0)
reason=$(rcli HGET "sw:r:$S2:$r2" reason)
if [ ! -e "$D/pwned_allow" ] && [ "$(rcli HGET "sw:r:$S2:$r2" state)" = failed ] &&
    echo "$reason" | grep -q "allow-program"; then
    ok "--allow-program: 'sh -c ...' is refused, the run fails saying why ($reason)"
else
    notok "--allow-program: 'sh -c ...' is refused, the run fails saying why (state $(rcli HGET "sw:r:$S2:$r2" state), reason '$reason')" "$D/w2.log"
fi
cat >"$D/good.yaml" <<EOF
method: random
run_cap: 1
parameters:
  steps: {value: 2}
command:
  - /bin/sh
  - $PROGS/steps.sh
  - \${args}
EOF
S3=$(timeout 30 "$SWEEP" create "$D/good.yaml" --brokers "$BOOT" --redis "$REDIS_URL" 2>>"$D/create.err" | tail -n 1)
it_bg w3 "$WRK" --brokers "$BOOT" --run-dir "$D/runs" --allow-program "$PROGS" "$S3"
it_wait_exit "$IT_PID" 20
check "--allow-program DIR: a script in DIR, run by sh, finishes" \
    [ "$(rcli HGET "sw:s:$S3" n:finished)" = 1 ]

# ---- 7. the key rules -----------------------------------------------------------

env -u SWEEP_SIGNING_KEY_FILE "$WRK" --brokers "$BOOT" "$S3" >"$D/nokey.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "no signing key" "$D/nokey.out"; then
    ok "a worker without a key refuses to start (exit 2, says how to make one)"
else
    notok "a worker without a key refuses to start (exit $rc)" "$D/nokey.out"
fi
env -u SWEEP_SIGNING_KEY_FILE "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" >"$D/nokey.out" 2>&1
rc=$?
check "a controller without a key refuses to start (exit $rc)" [ $rc -eq 2 ]
cp "$KEY" "$D/open.key"
chmod 644 "$D/open.key"
SWEEP_SIGNING_KEY_FILE=$D/open.key "$WRK" --brokers "$BOOT" "$S3" >"$D/openkey.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "readable by every user" "$D/openkey.out"; then
    ok "a key file every user can read is refused (exit 2)"
else
    notok "a key file every user can read is refused (exit $rc)" "$D/openkey.out"
fi
env -u SWEEP_SIGNING_KEY_FILE "$WRK" --brokers "$BOOT" --run-dir "$D/runs" --insecure-unsigned \
    >"$D/insecure.log" 2>&1 &
INS=$!
IT_ALL="$IT_ALL $INS"
it_wait 10 grep -q "ready" "$D/insecure.log"
INSID=$(worker_id "$D/insecure.log")
assignment "$D/a4" "\"$INSID\"" nosuch r4 "$D/insecure_ran"
produce "$D/a4" r4
if it_wait 10 test -e "$D/insecure_ran" && grep -q "insecure_unsigned" "$D/insecure.log"; then
    ok "--insecure-unsigned does what it says (and warns): an unsigned assignment runs"
else
    notok "--insecure-unsigned: an unsigned assignment runs" "$D/insecure.log"
fi
it_stop "$INS"

# ---- 8. secrets ------------------------------------------------------------------

RPW=redisPW$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
KPW=kafkaPW$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
RPORT=$(it_free_port)
# The password in a file: on the command line ps would show it.
printf 'requirepass %s\n' "$RPW" >"$D/redis2.conf"
it_bg redis2 "$REDIS_SERVER" "$D/redis2.conf" --port "$RPORT" --bind 127.0.0.1 --save "" \
    --appendonly no --dir "$D"
it_wait 10 sh -c "REDISCLI_AUTH=$RPW timeout 5 $REDIS_CLI -p $RPORT PING 2>/dev/null | grep -q PONG"
cat >"$D/secret.conf" <<EOF
redis redis://:$RPW@127.0.0.1:$RPORT/0
kafka.ssl.key.password $KPW
EOF
chmod 600 "$D/secret.conf"
cat >"$D/env.yaml" <<EOF
method: random
run_cap: 1
parameters:
  x: {min: 0.0, max: 1.0}
command:
  - /bin/sh
  - -c
  - env > $D/run.env
EOF
S4=$(timeout 30 "$SWEEP" create "$D/env.yaml" --config "$D/secret.conf" --brokers "$BOOT" \
    2>"$D/create4.err" | tail -n 1)
it_stop "$CTLP" # it leads the other Redis: it would tell w4 "no such sweep"
it_bg ctl2 "$CTL" --config "$D/secret.conf" --brokers "$BOOT" --prefix sweeps --log-level debug
CTL2=$IT_PID
it_bg w4 env SWEEP_SIGNING_KEY="$(cat "$KEY")" SWEEP_SIGNING_KEY_FILE= \
    "$WRK" --config "$D/secret.conf" --brokers "$BOOT" --run-dir "$D/runs" --log-level debug "$S4"
W4=$IT_PID
it_wait 5 grep -q ready "$D/w4.log"
ps -eo args >"$D/ps.out"
it_wait_exit "$W4" 30
"$CTL" --config "$D/secret.conf" --brokers "$BOOT" --dump-config >"$D/dump.out" 2>&1
SWEEP_SIGNING_KEY="$(cat "$KEY")" "$WRK" --config "$D/secret.conf" --brokers "$BOOT" \
    --dump-config >>"$D/dump.out" 2>&1
"$SWEEP" status "$S4" --config "$D/secret.conf" >"$D/status4.out" 2>&1
"$SWEEP" status "$S4" --redis "redis://:$RPW@127.0.0.1:notaport" >"$D/badurl.out" 2>&1
SWEEP_REDIS_URL="redis://:$RPW@127.0.0.1:notaport" "$SWEEP" status "$S4" >>"$D/badurl.out" 2>&1
"$CTL" --brokers "$BOOT" --kafka "sasl.password=$KPW" >"$D/flag.out" 2>&1
rc1=$?
"$CTL" --brokers "$BOOT" --redis "redis://:$RPW@127.0.0.1:$RPORT" >>"$D/flag.out" 2>&1
rc2=$?
it_stop "$CTL2"
check "the sweep with secrets in its settings ran ($(REDISCLI_AUTH=$RPW timeout 5 "$REDIS_CLI" -p "$RPORT" HGET "sw:s:$S4" n:finished) finished)" \
    [ -s "$D/run.env" ]
if [ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && grep -q "visible to every user" "$D/flag.out"; then
    ok "a password given as a flag (--kafka sasl.password=, --redis with a password) is refused: ps shows flags"
else
    notok "a password given as a flag is refused (exit $rc1, $rc2)" "$D/flag.out"
fi
check "--dump-config masks the secrets" grep -q "kafka.ssl.key.password (secret)" "$D/dump.out"
K=$(tr -d '\n' <"$KEY")
leaks=""
for f in "$D"/*.log "$D"/*.out "$D/run.env"; do
    for s in "$RPW" "$KPW" "$K"; do
        grep -q -F "$s" "$f" && leaks="$leaks $(basename "$f")"
    done
done
# The scan can fail: it finds the password where it is.
check "the secret scan finds the Redis password in redis2.conf" grep -q -F "$RPW" "$D/redis2.conf"
if [ -z "$leaks" ]; then
    ok "no secret (Redis password, Kafka password, signing key) in any log, ps, --dump-config, error message or the run's environment ($(ls "$D"/*.log "$D"/*.out | wc -l) files)"
else
    notok "no secret in any log, ps, --dump-config or the run's environment: found in$leaks"
fi
check "the run's environment has no SWEEP_SIGNING_KEY" sh -c "! grep -q '^SWEEP_SIGNING_KEY=' '$D/run.env'"

# ---- 9. a key rotation (docs/security.md) ------------------------------------------

"$SWEEP" keygen --output "$D/new.key"
{ cat "$D/new.key"; cat "$KEY"; } >"$D/ctl.keys"   # step 2: the new key signs
{ cat "$KEY"; cat "$D/new.key"; } >"$D/wrk.keys"   # step 1: workers accept both
chmod 600 "$D/ctl.keys" "$D/wrk.keys"
cat >"$D/rot.yaml" <<EOF
method: random
run_cap: 1
parameters:
  steps: {value: 2}
command: [/bin/sh, $PROGS/steps.sh, "\${args}"]
EOF
it_bg ctl3 env SWEEP_SIGNING_KEY_FILE="$D/ctl.keys" "$CTL" --brokers "$BOOT" --redis "$REDIS_URL"
CTL3=$IT_PID
S5=$(timeout 30 "$SWEEP" create "$D/rot.yaml" --brokers "$BOOT" --redis "$REDIS_URL" 2>>"$D/create.err" | tail -n 1)
it_bg wold "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$S5" # the old key only
WOLD=$IT_PID
if it_wait 15 grep -q "signed with a key this program does not hold" "$D/wold.log" &&
    [ "$(rcli HGET "sw:s:$S5" n:running)" != 1 ]; then
    ok "rotation: a worker with only the old key refuses what the new key signed, and says so"
else
    notok "rotation: a worker with only the old key refuses what the new key signed" "$D/wold.log"
fi
it_stop "$WOLD"
it_bg wboth env SWEEP_SIGNING_KEY_FILE="$D/wrk.keys" "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$S5"
it_wait_exit "$IT_PID" 30
rc=$?
if [ $rc -eq 0 ] && [ "$(rcli HGET "sw:s:$S5" n:finished)" = 1 ]; then
    ok "rotation: a worker holding the old and the new key runs what the new key signed"
else
    notok "rotation: a worker holding both keys runs what the new key signed (exit $rc)" "$D/wboth.log" "$D/ctl3.log"
fi
it_stop "$CTL3"

it_done
