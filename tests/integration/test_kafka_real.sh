#!/bin/sh
# test_kafka_real.sh - the product on a real Apache Kafka cluster run as
# production clusters are (3 KRaft nodes, replication factor 3,
# min.insync.replicas 2, auto.create.topics.enable=false; scripts/kafka.sh):
#   A. topics: created and checked with the Admin API (sweep init-topics,
#      a controller at start), what is wrong explained;
#   B. a program printing 200,000 metric lines: all stored, while a
#      pipeline consumer group reads .metrics beside us;
#   C. SIGKILL of the broker leading every partition of .assign and
#      .metrics mid-sweep, then its restart: every run once, every metric
#      once, dispatch resumes (measured);
#   D. the whole cluster down 10 s: running programs undisturbed, metrics
#      delivered when it returns; a worker whose local queue overflows
#      drops metric events, counts them, and `sweep runs` shows them.
# Each part has its own topic prefix and sweep. The cluster is the one
# $SWEEP_TEST_KAFKA_ENV describes (scripts/run-tests.sh), else one started
# here. IT_PARTS="A B C D" (the default) picks parts; IT_KEEP=1 keeps the
# logs. Ends with "N passed, N failed".
set -u

. tests/integration/lib.sh
it_init test_kafka_real

D=$IT_TMP
PROGS=$ROOT/tests/integration/programs
KR="$PY $ROOT/tests/integration/kafka_real.py"
KSH="sh $ROOT/scripts/kafka.sh"
T0=$(date +%s)

if ! it_kafka_cluster >"$D/cluster.log" 2>&1; then
    notok "a real 3-node Kafka cluster (scripts/kafka.sh run --nodes 3)" "$D/cluster.log" \
        "$D/kafka-cluster.log"
    it_done
fi
BOOT=$KAFKA_BOOT
NODES=$(seq -s, 1 "$KAFKA_NODES")
note "Kafka $KAFKA_VERSION, $KAFKA_NODES nodes: $BOOT"
it_redis redis || { notok "redis-server starts" "$D/redis.log"; it_done; }

now_ms() { date +%s%3N; }
fresh_prefix() { echo "it$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n').$1"; }
create() { # FILE: sweep create, SID
    SID=$(timeout 30 "$SWEEP" create "$1" --brokers "$BOOT" --redis "$REDIS_URL" \
        2>>"$D/create.err" | tail -n 1)
    [ -n "$SID" ]
}
rfield() { rcli HGET "sw:r:$SID:$1" "$2"; }
sfield() { rcli HGET "sw:s:$SID" "$1"; }
hist_len() { rcli LLEN "sw:r:$SID:$1:hist"; }
hist_is() { [ "$(hist_len "$1")" = "$2" ]; }
sweep_finished_n() { [ "$(sfield n:finished)" = "$1" ]; }

part() { case " ${IT_PARTS:-A B C D} " in *" $1 "*) return 0 ;; esac; return 1; }

# ---- A. topics -----------------------------------------------------------------
part_a() {
note "--- A. topics ($(($(date +%s) - T0)) s)"
SWEEP_PREFIX=$(fresh_prefix a)
export SWEEP_PREFIX
P=$SWEEP_PREFIX
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" >"$D/init1.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c ": created, 4 partitions, replication factor 3" "$D/init1.out")" = 4 ]; then
    ok "sweep init-topics creates the 4 topics (4 partitions, replication factor 3: the cluster's default)"
else
    notok "sweep init-topics creates the 4 topics (exit $rc)" "$D/init1.out"
fi
# every broker knows them a moment after CreateTopics answered
topics_are() { $KR topics "$BOOT" "$P" >"$D/topics.out" 2>&1 && [ "$(awk '$2 == 4 && $3 == 3' "$D/topics.out" | wc -l)" = 4 ]; }
it_wait 10 topics_are
check "the cluster has them: 4 topics, each 4 partitions of 3 replicas" \
    [ "$(awk '$2 == 4 && $3 == 3' "$D/topics.out" | wc -l)" = 4 ]
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" >"$D/init2.out" 2>&1
rc=$?
check "again: exit 0, all 4 'exists'" sh -c "[ $rc -eq 0 ] && [ \$(grep -c ': exists, 4 partitions' '$D/init2.out') = 4 ]"
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" --partitions 8 --check >"$D/init3.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "kafka-topics.sh --bootstrap-server $BOOT --alter --topic $P.metrics --partitions 8" "$D/init3.out"; then
    ok "--partitions 8 --check on 4-partition topics: exit 1, with the kafka-topics.sh --alter command for each"
else
    notok "--partitions 8 --check on 4-partition topics: exit 1 with the --alter command (exit $rc)" "$D/init3.out"
fi
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" --prefix "$P.none" --check >"$D/init4.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c "kafka-topics.sh --bootstrap-server $BOOT --create --topic $P.none.* --partitions 4" "$D/init4.out")" = 4 ]; then
    ok "--check of missing topics: exit 1, each with its kafka-topics.sh --create command"
else
    notok "--check of missing topics: exit 1 with the create commands (exit $rc)" "$D/init4.out"
fi
# Auto-creation is off, as on a production cluster: a worker on topics
# that do not exist says so, and what to run.
SWEEP_PREFIX=$P.none timeout 40 "$WRK" --brokers "$BOOT" >"$D/notopic.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "$P.none.assign" "$D/notopic.out" && grep -q "sweep init-topics" "$D/notopic.out"; then
    ok "a worker on missing topics (no auto-creation) fails naming the topic and 'sweep init-topics' (exit $rc)"
else
    notok "a worker on missing topics fails naming the topic and 'sweep init-topics' (exit $rc)" "$D/notopic.out"
fi
SWEEP_PREFIX=$(fresh_prefix a2)
it_bg ctl_a env SWEEP_TOPIC_PARTITIONS=2 "$CTL" --brokers "$BOOT" --redis "$REDIS_URL"
it_wait 40 sh -c "[ \$(grep -c 'created topic $SWEEP_PREFIX\.[a-z]* (2 partitions, replication factor 3)' '$D/ctl_a.log') = 4 ]"
check "a controller creates the missing topics at start (topic_partitions 2)" \
    [ "$(grep -c "created topic $SWEEP_PREFIX\.[a-z]* (2 partitions, replication factor 3)" "$D/ctl_a.log")" = 4 ]
it_stop "$IT_PID"
}

# ---- B. 200,000 metric lines, and a pipeline consumer group ----------------------
part_b() {
note "--- B. 200,000 metric lines ($(($(date +%s) - T0)) s)"
SWEEP_PREFIX=$(fresh_prefix b)
export SWEEP_PREFIX
P=$SWEEP_PREFIX
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" >"$D/initb.out" 2>&1 ||
    notok "init-topics for part B" "$D/initb.out"
cat >"$D/flood.py" <<'EOF'
import sys
w = sys.stdout.write
for i in range(200000):
    w("loss=%d acc=%d\n" % (200000 - i, i))
EOF
cat >"$D/flood.yaml" <<EOF
method: grid
parameters:
  n: {value: 200000}
command: [$PY, $D/flood.py]
EOF
it_bg ctl_b "$CTL" --brokers "$BOOT" --redis "$REDIS_URL"
CB=$IT_PID
create "$D/flood.yaml" || notok "sweep create (part B)" "$D/create.err"
it_bg pipeline $KR pipeline "$BOOT" "$P.metrics" "pipeline-$P" 200000 120 "$D/pipeline.json"
PL=$IT_PID
t0=$(now_ms)
it_bg wb "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
it_wait_exit "$IT_PID" 90
wrc=$?
RUN=$(rcli ZRANGE "sw:s:$SID:runs" 0 0)
it_wait 90 hist_is "$RUN" 200000
t1=$(now_ms)
n=$(hist_len "$RUN")
note "200,000 lines printed; $n stored in Redis $((t1 - t0)) ms after the worker started"
# fetch_wait_ms 0: a real broker answers a fetch as soon as data is there,
# so the readers wait long (500 ms) and do not poll it 200 times a second
if grep -q "kafka: real cluster .*: readers wait up to 500 ms per fetch" "$D/ctl_b.log" &&
    grep -q "kafka: real cluster .*: readers wait up to 500 ms per fetch" "$D/wb.log"; then
    ok "on a real cluster the controller's and the worker's readers wait up to 500 ms per fetch"
else
    notok "on a real cluster the controller's and the worker's readers wait up to 500 ms per fetch" \
        "$D/ctl_b.log" "$D/wb.log"
fi
if [ "$wrc" = 0 ] && [ "$n" = 200000 ] && [ "$(rfield "$RUN" steps)" = 200000 ] &&
    [ "$(rfield "$RUN" state)" = finished ]; then
    ok "a program printing 200,000 metric lines: all 200,000 stored, in order of steps (no 5 MiB limit here)"
else
    notok "a program printing 200,000 metric lines: all stored (worker exit $wrc, $n stored, steps $(rfield "$RUN" steps), state $(rfield "$RUN" state))" \
        "$D/ctl_b.log" "$D/wb.log"
fi
check "no metric event of the run was lost (metrics_lost '$(rfield "$RUN" metrics_lost)')" \
    [ "$(rfield "$RUN" metrics_lost)" = "" ] || [ "$(rfield "$RUN" metrics_lost)" = 0 ]
check "the last history entry is the last line (loss 1, acc 199999)" \
    sh -c "rcli() { timeout 10 redis-cli -p $REDIS_PORT \"\$@\"; }; rcli LINDEX sw:r:$SID:$RUN:hist -1 | grep -q '\"acc\": 199999'"
it_wait_exit "$PL" 120
$PY - "$D/pipeline.json" >"$D/pipeline.out" 2>&1 <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(r)
assert r["count"] == 200000 and r["distinct"] == 200000 and r["duplicates"] == 0, r
assert r["committed"] == 200000, r["committed"]
EOF
if [ $? -eq 0 ]; then
    ok "a pipeline consumer group (confluent-kafka, subscribe + commits) reads all 200,000 events of .metrics beside the controller"
else
    notok "a pipeline consumer group reads all 200,000 events of .metrics beside the controller" "$D/pipeline.out"
fi
check "the controller was not disturbed by the group (it is still leading, no rebalance of ours)" \
    sh -c "kill -0 $CB && ! grep -qi 'rebalanc' '$D/ctl_b.log'"
it_stop "$CB"
}

# ---- C. SIGKILL of the broker leading .assign and .metrics ------------------------
part_c() {
note "--- C. the leader of .assign and .metrics SIGKILLed ($(($(date +%s) - T0)) s)"
SWEEP_PREFIX=$(fresh_prefix c)
export SWEEP_PREFIX
P=$SWEEP_PREFIX
X=2
for t in assign metrics; do
    $KR create "$BOOT" "$P.$t" 4 "$X" "$NODES" >>"$D/createc.out" 2>&1 ||
        notok "create $P.$t led by node $X" "$D/createc.out"
done
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" >"$D/initc.out" 2>&1 ||
    notok "init-topics for part C" "$D/initc.out"
$KR topics "$BOOT" "$P" >"$D/topicsc.out" 2>&1
check "node $X leads every partition of $P.assign and $P.metrics" \
    [ "$(grep -E "^$P\.(assign|metrics) " "$D/topicsc.out" | awk '{print $4}' | tr ',' '\n' | sort -u)" = "$X" ]
mkdir -p "$D/printedc"
IT_PRINTED=$D/printedc
export IT_PRINTED
cat >"$D/grid.yaml" <<EOF
method: grid
parameters:
  x: {values: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]}
  steps: {value: 10}
  sleep: {value: 0.2}
command: [/bin/sh, $PROGS/steps.sh, "\${args}"]
EOF
it_bg ctl_c "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" --lease-timeout 60
CC=$IT_PID
create "$D/grid.yaml" || notok "sweep create (part C)" "$D/create.err"
WS=""
for i in 1 2 3; do
    it_bg "wc$i" "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
    WS="$WS $IT_PID"
done
it_wait 60 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT HGET sw:s:$SID n:finished)\" -ge 3 ] 2>/dev/null"
tk=$(now_ms)
note "SIGKILL node $X with $(sfield n:finished) runs finished"
$KSH node-stop "$KAFKA_DIR" "$X" --kill >"$D/nodestop.out" 2>&1
moved() {
    $KR topics "$BOOT" "$P" 2>/dev/null | grep -E "^$P\.(assign|metrics) " |
        awk '{print $4}' | tr ',' '\n' | grep -qx "$X" && return 1
    return 0
}
it_wait 30 moved
tm=$(now_ms)
note "new leaders elected $((tm - tk)) ms after the kill"
sleep 5
$KSH node-start "$KAFKA_DIR" "$X" >"$D/nodestart.out" 2>&1 ||
    notok "node $X starts again" "$D/nodestart.out"
note "node $X back $(($(now_ms) - tk)) ms after the kill"
for w in $WS; do
    it_wait_exit "$w" 120
done
it_wait 30 sweep_finished_n 12
timeout 30 "$SWEEP" runs "$SID" --json --redis "$REDIS_URL" >"$D/runsc.json" 2>"$D/runsc.err"
tot=0
mkdir -p "$D/histc"
for r in $(rcli ZRANGE "sw:s:$SID:runs" 0 -1); do
    tot=$((tot + $(hist_len "$r")))
    rcli LRANGE "sw:r:$SID:$r:hist" 0 -1 >"$D/histc/$r"
done
$KR scan "$BOOT" "$P.metrics" "$D/scanc.json" >"$D/scanc.out" 2>&1
TK=$tk TOT=$tot $PY - "$D" >"$D/assertc.out" 2>&1 <<'EOF'
import json, os, sys
D = sys.argv[1]
runs = json.load(open(os.path.join(D, "runsc.json")))
printed = [l.split() for l in open(os.path.join(D, "printedc", "printed")) if l.strip()]
scan = json.load(open(os.path.join(D, "scanc.json")))
tk = int(os.environ["TK"])
assert len(runs) == 12 and all(r["state"] == "finished" for r in runs), \
    [(r["id"], r["state"]) for r in runs]
assert all(r["attempt"] == 1 for r in runs), [(r["id"], r["attempt"]) for r in runs]
assert len(printed) == 120 and len({tuple(p) for p in printed}) == 120, len(printed)
assert int(os.environ["TOT"]) == 120, ("stored", os.environ["TOT"])
assert scan["count"] == 120 and scan["duplicates"] == 0, scan
# a run's messages in order across the producer's retries
for r in runs:
    h = [json.loads(l) for l in open(os.path.join(D, "histc", r["id"])) if l.strip()]
    assert [e.get("step") for e in h] == list(range(1, 11)), (r["id"], [e.get("step") for e in h])
# dispatch: on each worker, the gap from a run's end to its next start
gaps = []
byw = {}
for r in sorted(runs, key=lambda r: r["started_at"]):
    byw.setdefault(r["worker"], []).append(r)
for w, rs in byw.items():
    for a, b in zip(rs, rs[1:]):
        gaps.append((b["started_at"] - a["ended_at"], b["started_at"] >= tk))
after = sorted(g for g, late in gaps if late)
before = sorted(g for g, late in gaps if not late)
print("# dispatch gaps (run end to the worker's next start): before the kill max %d ms, "
      "after it max %d ms, median %d ms" % (max(before or [0]), max(after or [0]),
                                              after[len(after) // 2] if after else 0))
assert after and max(after) < 10000, after
EOF
rc=$?
grep '^# ' "$D/assertc.out"
if [ $rc -eq 0 ]; then
    ok "after the leader's SIGKILL and restart: 12 runs finished once (attempt 1), 120 lines printed = 120 stored = 120 on $P.metrics, none twice, each run's in order; dispatch resumed within 10 s"
else
    notok "after the leader's SIGKILL: every run once, every metric once, dispatch resumed" \
        "$D/assertc.out" "$D/ctl_c.log" "$D/wc1.log"
fi
it_stop "$CC"
unset IT_PRINTED
}

# ---- D. the whole cluster down for 10 s ---------------------------------------------
part_d() {
note "--- D. the whole cluster down 10 s ($(($(date +%s) - T0)) s)"
SWEEP_PREFIX=$(fresh_prefix d)
export SWEEP_PREFIX
P=$SWEEP_PREFIX
timeout 60 "$SWEEP" init-topics --brokers "$BOOT" >"$D/initd.out" 2>&1 ||
    notok "init-topics for part D" "$D/initd.out"
# A: one metric line every 0.1 s for 30 s, each line's time noted by the
# program itself. B: waits for $D/go, then floods 20,000 lines.
cat >"$D/ticker.sh" <<EOF
#!/bin/sh
i=1
while [ \$i -le 300 ]; do
    echo "tick=\$i"
    date +%s%3N >>"$D/ticks"
    sleep 0.1
    i=\$((i + 1))
done
EOF
cat >"$D/burst.sh" <<EOF
#!/bin/sh
while [ ! -e "$D/go" ]; do sleep 0.05; done
$PY -c 'import sys
for i in range(20000): sys.stdout.write("burst=%d\n" % i)'
sleep 2
EOF
printf 'method: grid\nparameters:\n  k: {value: 1}\ncommand: [/bin/sh, %s]\n' "$D/ticker.sh" >"$D/ticker.yaml"
printf 'method: grid\nparameters:\n  k: {value: 2}\ncommand: [/bin/sh, %s]\n' "$D/burst.sh" >"$D/burst.yaml"
it_bg ctl_d "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" --lease-timeout 90
CD=$IT_PID
create "$D/ticker.yaml" && SA=$SID
create "$D/burst.yaml" && SB=$SID
it_bg wa "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SA"
WA=$IT_PID
it_bg wbb "$WRK" --brokers "$BOOT" --run-dir "$D/runs" --kafka queue.buffering.max.messages=2000 "$SB"
WB=$IT_PID
SID=$SA
it_wait 30 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT HGET sw:s:$SB n:running)\" = 1 ]"
it_wait 30 sh -c "r=\$(timeout 5 redis-cli -p $REDIS_PORT ZRANGE sw:s:$SA:runs 0 0); [ \"\$(timeout 5 redis-cli -p $REDIS_PORT LLEN sw:r:$SA:\$r:hist)\" -ge 20 ] 2>/dev/null"
RA=$(rcli ZRANGE "sw:s:$SA:runs" 0 0)
RB=$(rcli ZRANGE "sw:s:$SB:runs" 0 0)
td=$(now_ms)
# in parallel; `wait PIDS`: a bare wait would wait for every process of
# the test too
kp=""
for i in $(seq 1 "$KAFKA_NODES"); do
    $KSH node-stop "$KAFKA_DIR" "$i" --kill >>"$D/downd.out" 2>&1 &
    kp="$kp $!"
done
# shellcheck disable=SC2086
wait $kp
note "all $KAFKA_NODES nodes SIGKILLed; run $RA has $(hist_len "$RA") entries stored"
: >"$D/go"
sleep 10
tu=$(now_ms)
kp=""
for i in $(seq 1 "$KAFKA_NODES"); do
    $KSH node-start "$KAFKA_DIR" "$i" >>"$D/upd.out" 2>&1 &
    kp="$kp $!"
done
# shellcheck disable=SC2086
wait $kp
note "cluster down for $((tu - td)) ms; every node back in the metadata $(($(now_ms) - td)) ms after the kill"
it_wait_exit "$WA" 120
rca=$?
it_wait_exit "$WB" 120
rcb=$?
it_wait 60 hist_is "$RA" 300
SID=$SA
timeout 30 "$SWEEP" runs "$SB" --redis "$REDIS_URL" >"$D/runsb.out" 2>&1
if [ $rca -eq 0 ] && [ "$(rcli HGET "sw:r:$SA:$RA" state)" = finished ] &&
    [ "$(rcli HGET "sw:r:$SA:$RA" attempt)" = 1 ] && [ "$(hist_len "$RA")" = 300 ]; then
    ok "the cluster down 10 s: the running program finished undisturbed (attempt 1) and all 300 of its metric events were delivered when the cluster returned"
else
    notok "the cluster down 10 s: the program finished, all 300 metric events delivered (worker exit $rca, state $(rcli HGET "sw:r:$SA:$RA" state), attempt $(rcli HGET "sw:r:$SA:$RA" attempt), $(hist_len "$RA") stored)" \
        "$D/wa.log" "$D/ctl_d.log"
fi
$PY - "$D/ticks" >"$D/ticks.out" 2>&1 <<'EOF'
import sys
t = [int(l) for l in open(sys.argv[1]) if l.strip()]
gaps = [b - a for a, b in zip(t, t[1:])]
print("# the ticker printed %d lines; largest gap between two: %d ms" % (len(t), max(gaps)))
assert len(t) == 300 and max(gaps) < 1000, (len(t), max(gaps))
EOF
rc=$?
grep '^# ' "$D/ticks.out"
check "... it was never held up: no gap of 1 s between its lines" [ $rc -eq 0 ]
dropped=$(sed -n 's/.*run [^ ]*: \([0-9]*\) of its [0-9]* metric events were dropped.*/\1/p' "$D/wbb.log" | tail -n 1)
lost=$(timeout 30 "$SWEEP" runs "$SB" --json --redis "$REDIS_URL" 2>/dev/null |
    "$PY" -c 'import json, sys; print(json.load(sys.stdin)[0].get("metrics_lost", ""))')
stored=$(rcli LLEN "sw:r:$SB:$RB:hist")
note "the flooding run: ${dropped:-0} dropped by its worker (local queue of 2,000), $lost counted lost, $stored stored"
if [ $rcb -eq 0 ] && [ "${dropped:-0}" -gt 0 ] && [ "$lost" = "$dropped" ] &&
    [ $((stored + lost)) -eq 20000 ] && grep -q "lost: $lost metric events never arrived" "$D/runsb.out"; then
    ok "a local queue that would overflow: what is dropped is counted ($dropped), logged, shown in sweep runs ('lost: $lost'), stored + lost = 20,000, nothing crashed"
else
    notok "a local queue that would overflow: dropped counted, logged, shown in sweep runs (worker exit $rcb, dropped '${dropped:-}', lost '$lost', stored $stored)" \
        "$D/wbb.log" "$D/runsb.out"
fi
check "the controller rode out the outage (still running)" it_alive "$CD"
it_stop "$CD"
}

for p in A B C D; do
    part $p && "part_$(echo $p | tr 'A-D' 'a-d')"
done

note "total $(($(date +%s) - T0)) s"
it_done
