#!/bin/sh
# test_kafka_security.sh - docs/security.md, run: a real 3-node Kafka cluster
# with a SASL_SSL listener (SCRAM-SHA-512, TLS certificates made by
# scripts/kafka.sh with openssl) and KRaft's StandardAuthorizer with no ACL
# but the ones docs/security.md gives, applied as written there (read out
# of the page). Each program runs with the settings the page gives (read
# out of it too), on its own principal: a sweep runs end to end and a
# pipeline reads the metrics in its group; wrong passwords and writes where
# a principal may not are refused with clear errors; no secret shows in a
# log, ps or --dump-config. Ends with "N passed, N failed".
set -u

. tests/integration/lib.sh
it_init test_kafka_security

D=$IT_TMP
PROGS=$ROOT/tests/integration/programs
KR="$PY $ROOT/tests/integration/kafka_real.py"
DOC=$ROOT/docs/security.md

if ! it_kafka_cluster >"$D/cluster.log" 2>&1 || [ -z "${KAFKA_SASL_BOOT:-}" ]; then
    notok "a real Kafka cluster with SASL_SSL (scripts/kafka.sh run --nodes 3 --security)" \
        "$D/cluster.log" "$D/kafka-cluster.log"
    it_done
fi
note "Kafka $KAFKA_VERSION: SASL_SSL on $KAFKA_SASL_BOOT"
SWEEP_PREFIX=it$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n').sec
export SWEEP_PREFIX
P=$SWEEP_PREFIX
pw() { cat "$KAFKA_SECRETS/$1.password"; }

# A Redis with a password (in a file: ps shows a command line).
RPW=redisPW$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
REDIS_PORT=$(it_free_port)
printf 'requirepass %s\n' "$RPW" >"$D/redis.conf"
it_bg redis "$REDIS_SERVER" "$D/redis.conf" --port "$REDIS_PORT" --bind 127.0.0.1 \
    --save "" --appendonly no --dir "$D"
export REDISCLI_AUTH=$RPW
it_wait 10 it_redis_up
REDIS_URL=redis://:$RPW@127.0.0.1:$REDIS_PORT/0

# doc_block NAME: the code block that follows "<!-- tested: NAME -->" in
# docs/security.md, with the page's placeholders made this cluster's.
doc_block() {
    awk -v tag="<!-- tested: $1 -->" '
        $0 == tag { want = 1; next }
        want && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }' "$DOC" |
        sed -e "s|BROKERS|$KAFKA_SASL_BOOT|" -e "s|REDIS_URL|$REDIS_URL|" \
            -e "s|/etc/sweep/signing.key|$SWEEP_SIGNING_KEY_FILE|" \
            -e "s|/etc/sweep/ca.pem|$KAFKA_CA|" \
            -e "s|CONTROLLER_PASSWORD|$(pw controller)|" \
            -e "s|WORKER_PASSWORD|$(pw worker)|" -e "s|CLI_PASSWORD|$(pw cli)|"
}
for f in sweep-controller.conf sweep-worker.conf sweep.conf acls; do
    doc_block "$f" >"$D/$f"
    chmod 600 "$D/$f"
done
if [ "$(grep -c kafka-acls.sh "$D/acls")" -ge 10 ] && grep -q "sasl.username worker" "$D/sweep-worker.conf" &&
    grep -q "sasl.username controller" "$D/sweep-controller.conf" && grep -q "sasl.username cli" "$D/sweep.conf"; then
    ok "docs/security.md gives the settings of each program and $(grep -c kafka-acls.sh "$D/acls") ACL commands"
else
    notok "docs/security.md gives the settings of each program and the ACL commands" "$D/acls" "$D/sweep-worker.conf"
fi

# ---- topics: a principal that may not create them is told what to run --------

SWEEP_PREFIX=$P.denied timeout 60 "$SWEEP" init-topics --config "$D/sweep-worker.conf" \
    >"$D/denied.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && [ "$(grep -c "may not create it" "$D/denied.out")" = 4 ] &&
    grep -q "kafka-topics.sh --bootstrap-server $KAFKA_SASL_BOOT --create --topic $P.denied.assign --partitions 4" "$D/denied.out" &&
    grep -q "kafka-acls.sh .*--allow-principal User:worker --operation Create" "$D/denied.out"; then
    ok "init-topics as a principal that may not create topics: exit 1, each topic with the command an operator would run"
else
    notok "init-topics as a principal that may not create topics: exit 1 with the operator's commands (exit $rc)" "$D/denied.out"
fi
# The operator creates them (the super user, on the plaintext listener).
timeout 60 "$SWEEP" init-topics --brokers "$KAFKA_BOOT" >"$D/init.out" 2>&1 ||
    notok "init-topics as the operator" "$D/init.out"
if $KR acls "$KAFKA_BOOT" "$D/acls" "$P" >"$D/acls.out" 2>&1; then
    ok "the ACLs of docs/security.md applied ($(cat "$D/acls.out"))"
else
    notok "the ACLs of docs/security.md applied" "$D/acls.out"
fi

# ACLs reach every broker a moment later (KRaft metadata): wait until each
# principal sees its topics, so that the checks below judge the ACLs, not
# their propagation.
acl_seen() {
    for u in controller worker; do
        for b in $(echo "$KAFKA_SASL_BOOT" | tr ',' ' '); do
            timeout 10 "$KCAT" -F "$KAFKA_SECRETS/$u.conf" -b "$b" -L -t "$P.assign" 2>&1 |
                grep -q "topic \"$P.assign\" with 4 partitions" || return 1
        done
    done
}
it_wait 20 acl_seen || note "the ACLs took more than 20 s to reach every broker"

# ---- a sweep end to end, each program on its own principal ----------------------

cat >"$D/grid.yaml" <<EOF
method: grid
metric: {name: loss, goal: minimize}
parameters:
  x: {values: [1, 2, 3]}
  steps: {value: 4}
  sleep: {value: 0.1}
command: [/bin/sh, $PROGS/steps.sh, "\${args}"]
EOF
it_bg ctl "$CTL" --config "$D/sweep-controller.conf"
CTLP=$IT_PID
it_wait 30 grep -q "leading, fencing token" "$D/ctl.log"
SID=$(timeout 60 "$SWEEP" create "$D/grid.yaml" --config "$D/sweep.conf" 2>"$D/create.err" | tail -n 1)
KR_CONF=$KAFKA_SECRETS/pipeline.conf it_bg pipeline env KR_CONF="$KAFKA_SECRETS/pipeline.conf" \
    $KR pipeline "$KAFKA_SASL_BOOT" "$P.metrics" metrics-pipeline 12 90 "$D/pipeline.json"
PL=$IT_PID
it_bg w1 "$WRK" --config "$D/sweep-worker.conf" --run-dir "$D/runs" "$SID"
W1=$IT_PID
sleep 1
ps -eo args >"$D/ps.out"
it_wait_exit "$W1" 90
wrc=$?
it_wait 20 sh -c "[ \"\$(timeout 5 redis-cli -p $REDIS_PORT HGET sw:s:$SID n:finished)\" = 3 ]"
fin=$(rcli HGET "sw:s:$SID" n:finished)
if [ $wrc -eq 0 ] && [ "$fin" = 3 ]; then
    ok "a sweep runs end to end over SASL_SSL under the ACLs: controller, CLI and worker each on its own principal (3 runs finished)"
else
    notok "a sweep runs end to end over SASL_SSL under the ACLs (worker exit $wrc, $fin finished)" \
        "$D/ctl.log" "$D/w1.log" "$D/create.err"
fi
timeout 60 "$SWEEP" status "$SID" --config "$D/sweep.conf" >"$D/status.out" 2>&1
check "sweep status with the CLI's settings says finished" grep -q finished "$D/status.out"
it_wait_exit "$PL" 90
if $PY -c 'import json, sys; r = json.load(open(sys.argv[1])); assert r["count"] == 12 and r["duplicates"] == 0, r' \
    "$D/pipeline.json" >"$D/pipeline.out" 2>&1; then
    ok "the pipeline principal reads all 12 metric events in its consumer group"
else
    notok "the pipeline principal reads all 12 metric events in its consumer group" "$D/pipeline.out" "$D/pipeline.log"
fi
if grep -qi "authoriz" "$D/ctl.log" "$D/w1.log" "$D/create.err"; then
    notok "no authorization error in the programs' logs: the documented ACLs are enough" "$D/ctl.log" "$D/w1.log"
else
    ok "no authorization error in the programs' logs: the documented ACLs are enough"
fi

# ---- refused, with clear errors ---------------------------------------------------

sed "s|^kafka.sasl.password .*|kafka.sasl.password wrong-$(pw worker)|" "$D/sweep-worker.conf" >"$D/wrong.conf"
chmod 600 "$D/wrong.conf"
t0=$(date +%s)
timeout 60 "$WRK" --config "$D/wrong.conf" "$SID" >"$D/wrong.out" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
if [ $rc -eq 1 ] && grep -q "the cluster refuses us: .*Authentication failed" "$D/wrong.out" && [ $secs -lt 15 ]; then
    ok "a worker with a wrong password exits 1 in $secs s saying the cluster refuses it (authentication failed)"
else
    notok "a worker with a wrong password exits 1 at once saying the cluster refuses it (exit $rc, $secs s)" "$D/wrong.out"
fi
sed "s|^kafka.sasl.password .*|kafka.sasl.password wrong|" "$D/sweep-controller.conf" >"$D/wrongc.conf"
chmod 600 "$D/wrongc.conf"
t0=$(date +%s)
timeout 60 "$CTL" --config "$D/wrongc.conf" >"$D/wrongc.out" 2>&1
rc=$?
secs=$(($(date +%s) - t0))
if [ $rc -eq 1 ] && grep -q "the cluster refuses us: .*Authentication failed" "$D/wrongc.out" && [ $secs -lt 30 ]; then
    ok "a controller with a wrong password exits 1 in $secs s saying the cluster refuses it"
else
    notok "a controller with a wrong password exits 1 saying the cluster refuses it (exit $rc, $secs s)" "$D/wrongc.out"
fi
printf 'x' >"$D/one"
timeout 30 "$KCAT" -F "$KAFKA_SECRETS/worker.conf" -b "$KAFKA_SASL_BOOT" -P -t "$P.assign" -k x "$D/one" \
    >"$D/wassign.out" 2>&1
check "the worker's principal may not write to .assign (Topic authorization failed)" \
    grep -q "Topic authorization failed" "$D/wassign.out"
timeout 30 "$KCAT" -F "$KAFKA_SECRETS/worker.conf" -b "$KAFKA_SASL_BOOT" -C -t "$P.control" -o beginning -e \
    >"$D/wcontrol.out" 2>&1
check "the worker's principal may not read .control" grep -q "authorization failed" "$D/wcontrol.out"
timeout 30 "$KCAT" -F "$KAFKA_SECRETS/cli.conf" -b "$KAFKA_SASL_BOOT" -P -t "$P.assign" -k x "$D/one" \
    >"$D/cassign.out" 2>&1
check "the CLI's principal may not write to .assign" grep -q "Topic authorization failed" "$D/cassign.out"
# A worker configured to read a topic it may not: said, not waited out.
SWEEP_PREFIX=$P.denied timeout 60 "$WRK" --config "$D/sweep-worker.conf" >"$D/notauth.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "not authorized" "$D/notauth.out"; then
    ok "a worker whose principal may not read .assign exits 1 saying so"
else
    notok "a worker whose principal may not read .assign exits 1 saying so (exit $rc)" "$D/notauth.out"
fi

# ---- secrets --------------------------------------------------------------------------

"$CTL" --config "$D/sweep-controller.conf" --dump-config >"$D/dump.out" 2>&1
"$WRK" --config "$D/sweep-worker.conf" --dump-config >>"$D/dump.out" 2>&1
"$SWEEP" status "$SID" --config "$D/sweep.conf" --dump-config >>"$D/dump.out" 2>&1
check "--dump-config shows the passwords as (secret)" \
    [ "$(grep -c "kafka.sasl.password (secret)" "$D/dump.out")" = 3 ]
it_stop "$CTLP"
K=$(tr -d '\n' <"$SWEEP_SIGNING_KEY_FILE")
leaks=""
for f in "$D"/*.log "$D"/*.out "$D"/*.err; do
    for s in "$(pw controller)" "$(pw worker)" "$(pw cli)" "$RPW" "$K"; do
        grep -q -F "$s" "$f" && leaks="$leaks $(basename "$f")"
    done
done
check "the scan can fail: it finds the worker's password in its settings file" \
    grep -q -F "$(pw worker)" "$D/sweep-worker.conf"
if [ -z "$leaks" ]; then
    ok "no password, Redis password or signing key in any log, error, ps output or --dump-config ($(ls "$D"/*.log "$D"/*.out "$D"/*.err | wc -l) files)"
else
    notok "no secret in any log, error, ps output or --dump-config: found in$leaks"
fi
it_done
