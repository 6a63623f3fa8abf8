#!/bin/sh
# test_worker.sh - the worker's rules, end to end with real processes:
# W&B's failure rules and their flags, --count, cancel killing a running
# run (reason stored, shown by `sweep runs`), pause and resume, and the
# JSON encoding of the metrics topic (metrics_format json).
# Ends with "N passed, N failed".
. tests/integration/lib.sh
it_init test_worker

D=$IT_TMP
it_broker broker || { notok "sweep broker starts" "$D/broker.log"; it_done; }
it_redis redis || { notok "redis-server starts" "$D/redis.log"; it_done; }
it_bg ctl "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" --lease-timeout 5
CTLPID=$IT_PID

# mk NAME COMMAND-ITEMS [EXTRA YAML]: a random sweep config.
mk() {
    cat >"$D/$1.yaml" <<EOF2
method: random
run_cap: ${4:-20}
parameters:
  x: {min: 0.0, max: 1.0}
command:
$2
$3
EOF2
}

create() {
    SID=$(timeout 30 "$SWEEP" create "$D/$1.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
        2>"$D/$1.create.err" | tail -n 1)
}

state_of() { # RUN: its state
    rcli HGET "sw:r:$SID:$1" state
}

# 1. Three failures within the first 60 s: the worker gives up (exit 1).
mk fail "  - /bin/sh
  - -c
  - exit 3"
create fail
it_bg w_fail "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
it_wait_exit "$IT_PID" 30
rc=$?
n=$(rcli HGET "sw:s:$SID" n:failed)
if [ $rc -eq 1 ] && [ "$n" = 3 ] && grep -q "3 runs failed within the first 60 s" "$D/w_fail.log"; then
    ok "3 failures in the first 60 s: the worker exits 1 after the 3rd (3 runs failed)"
else
    notok "3 failures in the first 60 s: the worker exits 1 after the 3rd (rc $rc, failed $n)" "$D/w_fail.log"
fi
reason=$(rcli HGET "sw:r:$SID:$(rcli ZRANGE "sw:s:$SID:runs" 0 0)" reason)
check "a failed run's reason names its exit code ('$reason')" [ "$reason" = "exit code 3" ]

# 2. The flags: no early rule (10), 4 in a row.
it_bg w_fail4 "$WRK" --brokers "$BOOT" --run-dir "$D/runs" --max-initial-failures 10 \
    --max-consecutive-failures 4 "$SID"
it_wait_exit "$IT_PID" 30
rc=$?
if [ $rc -eq 1 ] && grep -q "4 runs failed in a row" "$D/w_fail4.log"; then
    ok "--max-consecutive-failures 4: the worker exits 1 after 4 failures in a row"
else
    notok "--max-consecutive-failures 4: the worker exits 1 after 4 failures in a row (rc $rc)" "$D/w_fail4.log"
fi

# 3. --count 2, and metrics_format json on the metrics topic.
mk count "  - /bin/sh
  - -c
  - echo loss=1; echo loss=2; echo loss=3" "" 5
create count
SWEEP_METRICS_FORMAT=json it_bg w_count "$WRK" --brokers "$BOOT" --run-dir "$D/runs" \
    --count 2 "$SID"
it_wait_exit "$IT_PID" 30
rc=$?
made=$(rcli HGET "sw:s:$SID" runs_created)
check "--count 2: the worker exits 0 after 2 runs (rc $rc, runs $made)" [ $rc -eq 0 -a "$made" = 2 ]
it_wait 10 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT HGET sw:s:$SID n:finished)\" = 2 ]"
lens=""
for r in $(rcli ZRANGE "sw:s:$SID:runs" 0 -1); do
    it_wait 10 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT LLEN sw:r:$SID:$r:hist)\" = 3 ]"
    lens="$lens $(rcli LLEN "sw:r:$SID:$r:hist")"
done
check "metrics_format json: the controller stores every JSON metric event (histories:$lens)" \
    [ "$lens" = " 3 3" ]
first=$(timeout 10 "$KCAT" -C -b "$BOOT" -t sweeps.metrics -o beginning -e -q -f '%s\n' 2>/dev/null |
    grep -c "\"run_id\":")
check "metrics_format json: the metrics topic carries JSON objects ($first)" [ "$first" -ge 6 ]

# 4. cancel kills the running run at once; the reason is stored and shown.
mk long "  - /bin/sh
  - -c
  - for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo step=\$i; sleep 0.5; done"
create long
it_bg w_long "$WRK" --brokers "$BOOT" --run-dir "$D/runs" --grace 5 "$SID"
WL=$IT_PID
it_wait 15 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT HGET sw:s:$SID n:running)\" = 1 ]"
run=$(rcli ZRANGE "sw:s:$SID:runs" 0 0)
"$SWEEP" cancel "$SID" --brokers "$BOOT" --redis "$REDIS_URL" >"$D/cancel.out" 2>&1
it_wait 5 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT HGET sw:r:$SID:$run state)\" = killed ]"
check "cancel: the running run ends killed within 5 s ($(state_of "$run"))" [ "$(state_of "$run")" = killed ]
check "cancel: the reason is stored ($(rcli HGET "sw:r:$SID:$run" reason))" \
    [ "$(rcli HGET "sw:r:$SID:$run" reason)" = "sweep canceled" ]
"$SWEEP" runs "$SID" --redis "$REDIS_URL" >"$D/runs.out" 2>&1
check "sweep runs shows the reason" grep -q "sweep canceled" "$D/runs.out"
it_wait_exit "$WL" 15
check "cancel: the bound worker exits 0" [ $? -eq 0 ]
check "sweep status says canceled" sh -c "\"$SWEEP\" status $SID --json --redis $REDIS_URL | grep -q '\"state\": \"canceled\"'"

# 5. pause: no new run; resume: runs again.
mk pause "  - /bin/sh
  - -c
  - sleep 0.2; echo loss=1" "" 6
create pause
"$SWEEP" pause "$SID" --brokers "$BOOT" --redis "$REDIS_URL" >/dev/null 2>&1
it_bg w_pause "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
WP=$IT_PID
sleep 3
check "pause: no run is created while paused ($(rcli HGET "sw:s:$SID" runs_created))" \
    [ "$(rcli HGET "sw:s:$SID" runs_created)" = 0 ]
"$SWEEP" resume "$SID" --brokers "$BOOT" --redis "$REDIS_URL" >/dev/null 2>&1
it_wait_exit "$WP" 30
rc=$?
check "resume: the sweep runs to its cap and the worker exits 0 (rc $rc, $(rcli HGET "sw:s:$SID" n:finished) finished)" \
    [ $rc -eq 0 -a "$(rcli HGET "sw:s:$SID" n:finished)" = 6 ]

it_alive "$CTLPID"
check "the controller is still running" [ $? -eq 0 ]
it_done
