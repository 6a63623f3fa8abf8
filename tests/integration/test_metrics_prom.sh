#!/bin/sh
# test_metrics_prom.sh - `sweep-controller --metrics`: a 6-point grid on 2
# workers with `sweep broker` and a private redis-server, then GET /metrics
# scraped with curl and checked (values, `promtool check metrics`), and a
# real prometheus scraping the controller every second until its query API
# answers sweep_leader 1.
#
# Run from the repository root: sh tests/integration/test_metrics_prom.sh
# Env: SWEEP_BIN, IT_KEEP=1 (lib.sh).
set -u

. tests/integration/lib.sh
it_init test_metrics_prom

PROGS=$ROOT/tests/integration/programs
PROMTOOL=/usr/bin/promtool
PROMETHEUS=/usr/bin/prometheus
SC=m
D=$IT_TMP/m
mkdir -p "$D/runs"

missing=""
for t in "$SWEEP" "$CTL" "$WRK" "$REDIS_SERVER" "$PROMTOOL" "$PROMETHEUS" "$KCAT" curl timeout; do
    command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
done
if [ -n "$missing" ]; then
    echo "missing:$missing" >"$IT_TMP/missing"
    notok "prerequisites: the programs, redis-server, promtool, prometheus, kcat, curl" "$IT_TMP/missing"
    it_done
fi
ok "prerequisites: the programs, redis-server, promtool, prometheus, kcat, curl"

# value NAME_WITH_LABELS FILE: the sample's value, empty when absent.
value() {
    awk -v n="$1" '$1 == n { print $2; exit }' "$2"
}

# ge A B: A and B numbers, A >= B.
ge() {
    [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'
}

if ! it_broker m/broker || ! it_redis m/redis; then
    notok "the broker and redis-server start" "$D/broker.log" "$D/redis.log"
    it_done
fi
MPORT=$(it_free_port)
it_bg m/ctl "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" --metrics "127.0.0.1:$MPORT"
CPID=$IT_PID
URL=http://127.0.0.1:$MPORT/metrics

check "GET /metrics answers 200" it_wait 15 curl -fsS -o /dev/null "$URL"
if curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other" | grep -qx 404; then
    ok "GET /other answers 404"
else
    notok "GET /other answers 404"
fi
if "$CTL" --brokers "$BOOT" --redis "$REDIS_URL" --metrics nonsense >"$D/bad.out" 2>&1; then
    notok "--metrics nonsense is refused" "$D/bad.out"
else
    ok "--metrics nonsense is refused"
fi

cat >"$D/sweep.yaml" <<EOF2
method: grid
program: tests/integration/programs/steps.sh
parameters:
  x: {values: [1, 2, 3]}
  y: {values: [a, b]}
  steps: {value: 3}
  sleep: {value: 0.05}
command:
  - /bin/sh
  - $PROGS/steps.sh
  - \${args}
EOF2
SID=$(timeout 30 "$SWEEP" create "$D/sweep.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
    2>"$D/create.err" | tail -n 1)
case $SID in
'' | *[!a-z0-9]*)
    notok "sweep create prints the sweep id (got '$SID')" "$D/create.err"
    it_done
    ;;
esac
ok "sweep create prints the sweep id"
for i in 1 2; do
    it_bg "m/w$i" "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID"
    eval "W$i=\$IT_PID"
done
for i in 1 2; do
    eval "wp=\$W$i"
    it_wait_exit "$wp" 60
    st=$?
    if [ "$st" = 0 ]; then
        ok "worker $i exits 0 when the sweep is finished"
    else
        notok "worker $i exits 0 when the sweep is finished (status $st)" "$D/w$i.log" "$D/ctl.log"
    fi
done

# The gauges are rebuilt once a second: wait for the finished runs.
finished_runs() {
    curl -fsS "$URL" >"$D/scrape" 2>/dev/null &&
        [ "$(value 'sweep_runs{state="finished"}' "$D/scrape")" = 6 ]
}
check "sweep_runs{state=\"finished\"} is 6" it_wait 10 finished_runs
curl -fsS -D "$D/headers" "$URL" >"$D/scrape" 2>"$D/curl.err"
if grep -qi '^content-type: text/plain; version=0.0.4' "$D/headers"; then
    ok "Content-Type text/plain; version=0.0.4"
else
    notok "Content-Type text/plain; version=0.0.4" "$D/headers"
fi
v=$(value sweep_leader "$D/scrape")
if [ "$v" = 1 ]; then ok "sweep_leader 1"; else notok "sweep_leader 1 (got '$v')" "$D/scrape"; fi
v=$(value sweep_assignments_sent_total "$D/scrape")
if ge "$v" 6; then ok "sweep_assignments_sent_total >= 6 runs ($v)"; else
    notok "sweep_assignments_sent_total >= 6 runs (got '$v')" "$D/scrape"; fi
v=$(value sweep_metric_events_applied_total "$D/scrape")
if ge "$v" 18; then ok "sweep_metric_events_applied_total >= 18 ($v)"; else
    notok "sweep_metric_events_applied_total >= 18 (got '$v')" "$D/scrape"; fi
v=$(value 'sweep_sweeps{state="finished"}' "$D/scrape")
if [ "$v" = 1 ]; then ok "sweep_sweeps{state=\"finished\"} 1"; else
    notok "sweep_sweeps{state=\"finished\"} 1 (got '$v')" "$D/scrape"; fi
v=$(value sweep_suggestion_seconds_count "$D/scrape")
if ge "$v" 6; then ok "sweep_suggestion_seconds_count >= 6 ($v)"; else
    notok "sweep_suggestion_seconds_count >= 6 (got '$v')" "$D/scrape"; fi
v=$(value 'sweep_suggestion_seconds_bucket{le="+Inf"}' "$D/scrape")
w=$(value sweep_suggestion_seconds_count "$D/scrape")
if [ -n "$v" ] && [ "$v" = "$w" ]; then ok "the +Inf bucket is the count"; else
    notok "the +Inf bucket is the count ('$v' vs '$w')" "$D/scrape"; fi
if grep -q '^sweep_consumer_lag{topic="[^"]*",partition="[0-9]*"} [0-9]' "$D/scrape"; then
    ok "sweep_consumer_lag has topic and partition labels"
else
    notok "sweep_consumer_lag has topic and partition labels" "$D/scrape"
fi
for n in sweep_fenced_writes_total sweep_malformed_messages_total \
    sweep_stop_latency_seconds_count; do
    v=$(value "$n" "$D/scrape")
    if [ "$v" = 0 ]; then ok "$n 0"; else notok "$n 0 (got '$v')" "$D/scrape"; fi
done
if "$PROMTOOL" check metrics <"$D/scrape" >"$D/promtool.out" 2>&1; then
    ok "promtool check metrics"
else
    notok "promtool check metrics" "$D/promtool.out"
fi

# Garbage on the control topic: skipped and counted.
printf 'not a message' | timeout 10 "$KCAT" -P -b "$BOOT" -t sweeps.control 2>"$D/kcat.err"
malformed_seen() {
    curl -fsS "$URL" >"$D/scrape1" 2>/dev/null &&
        [ "$(value sweep_malformed_messages_total "$D/scrape1")" = 1 ]
}
check "a garbage message: sweep_malformed_messages_total 1" it_wait 10 malformed_seen

# An early-stopping sweep: the bad runs are stopped at step 3 on the batch
# of metric events that logged it, which sweep_stop_latency_seconds times.
cat >"$D/es.yaml" <<EOF2
method: grid
metric: {name: loss, goal: minimize}
early_terminate: {type: hyperband, min_iter: 3, eta: 3}
parameters:
  kind: {values: [good1, good2, good3, bad1, bad2]}
command: [$PY, $ROOT/tests/integration/programs/curve.py, --steps=8, "\${args}"]
EOF2
SID2=$(timeout 30 "$SWEEP" create "$D/es.yaml" --brokers "$BOOT" --redis "$REDIS_URL" \
    2>"$D/es.create.err" | tail -n 1)
if [ -n "$SID2" ]; then ok "sweep create (early_terminate)"; else
    notok "sweep create (early_terminate)" "$D/es.create.err"; fi
for i in 1 2; do
    it_bg "m/es_w$i" "$WRK" --brokers "$BOOT" --run-dir "$D/runs" "$SID2"
    eval "W$i=\$IT_PID"
done
for p in $W1 $W2; do it_wait_exit "$p" 90; done
early_stops_seen() {
    curl -fsS "$URL" >"$D/scrape2" 2>/dev/null &&
        ge "$(value sweep_early_stops_total "$D/scrape2")" 1
}
check "sweep_early_stops_total >= 1" it_wait 10 early_stops_seen
v=$(value sweep_stop_latency_seconds_count "$D/scrape2")
w=$(value sweep_early_stops_total "$D/scrape2")
if ge "$v" 1 && ge "$w" "$v"; then
    ok "sweep_stop_latency_seconds_count in 1..early stops ($v of $w)"
else
    notok "sweep_stop_latency_seconds_count in 1..early stops (got '$v' of '$w')" "$D/scrape2" "$D/ctl.log"
fi
v=$(value sweep_stop_latency_seconds_sum "$D/scrape2")
if [ -n "$v" ] && awk -v a="$v" 'BEGIN { exit !(a > 0 && a < 10) }'; then
    ok "sweep_stop_latency_seconds_sum in (0, 10) s ($v)"
else
    notok "sweep_stop_latency_seconds_sum in (0, 10) s (got '$v')" "$D/scrape2"
fi
if "$PROMTOOL" check metrics <"$D/scrape2" >"$D/promtool2.out" 2>&1; then
    ok "promtool check metrics (after early stops)"
else
    notok "promtool check metrics (after early stops)" "$D/promtool2.out"
fi

# A real prometheus scraping every second.
PPORT=$(it_free_port)
mkdir -p "$D/tsdb"
cat >"$D/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: sweep-controller
    static_configs:
      - targets: ["127.0.0.1:$MPORT"]
EOF2
if "$PROMTOOL" check config "$D/prometheus.yml" >"$D/promtool-config.out" 2>&1; then
    ok "promtool check config"
else
    notok "promtool check config" "$D/promtool-config.out"
fi
it_bg m/prometheus "$PROMETHEUS" --config.file="$D/prometheus.yml" \
    --web.listen-address="127.0.0.1:$PPORT" --storage.tsdb.path="$D/tsdb"
PPID_=$IT_PID
leader_in_prometheus() {
    curl -fsS "http://127.0.0.1:$PPORT/api/v1/query?query=sweep_leader" >"$D/query" 2>/dev/null &&
        "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
r = d["data"]["result"]
sys.exit(0 if d["status"] == "success" and r and r[0]["value"][1] == "1" else 1)' "$D/query"
}
check "prometheus scrapes the controller: sweep_leader is 1 within 20 s" \
    it_wait 20 leader_in_prometheus
it_stop "$PPID_"
it_forget "$PPID_"

it_stop "$CPID"
st=$?
it_forget "$CPID"
if [ "$st" = 0 ]; then ok "the controller exits 0 on SIGTERM"; else
    notok "the controller exits 0 on SIGTERM (status $st)" "$D/ctl.log"; fi
it_done
