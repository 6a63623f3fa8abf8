#!/bin/sh
# test_kafka.sh - `sweep broker` (the embedded broker as a process) and the
# Kafka client of lib/kafka.h, checked from outside by kcat and by
# kafka-python (Debian python3-kafka).
#
# Run from the repository root: sh tests/integration/test_kafka.sh
# Env: SWEEP_BIN, directory of the programs (default $PWD/bin);
#      O, the build directory holding libsweep.a (default build).
#
# tests/integration/kafka_probe.c is compiled here against $O/libsweep.a:
# it drives lib/kafka.h (see its header for the modes).
set -u

ROOT=$(pwd)
SWEEP_BIN=${SWEEP_BIN:-$ROOT/bin}
SWEEP=$SWEEP_BIN/sweep
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
PY=/usr/bin/python3
KCAT=kcat

pass=0
fail=0
pids=""

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test_kafka.XXXXXX") || exit 1
PROBE=$tmp/kafka_probe

cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
    done
    for p in $pids; do
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

ok() {
    pass=$((pass + 1))
    echo "ok - $1"
}

# notok DESC [FILE...]: the start of each file as detail.
notok() {
    fail=$((fail + 1))
    echo "FAIL - $1"
    shift
    for f in "$@"; do
        [ -s "$f" ] || continue
        echo "    $(basename "$f"):"
        head -n 15 "$f" | cut -c 1-300 | sed 's/^/      | /'
    done
}

# check DESC CMD...: ok when CMD exits 0; its output in $tmp/out, $tmp/err.
check() {
    desc=$1
    shift
    if "$@" >"$tmp/out" 2>"$tmp/err"; then
        ok "$desc"
    else
        rc=$?
        echo "exit status $rc" >>"$tmp/err"
        notok "$desc" "$tmp/out" "$tmp/err"
    fi
}

# start_broker NAME SECONDS ARGS...: `sweep broker ARGS` in the background,
# killed with SIGKILL after SECONDS at the latest; sets BPID and BOOT (its
# first stdout line, waited for up to 10 s; empty on failure).
start_broker() {
    name=$1
    secs=$2
    shift 2
    timeout -s KILL "$secs" "$SWEEP" broker "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    BPID=$!
    pids="$pids $BPID"
    BOOT=""
    i=0
    while [ $i -lt 100 ]; do
        BOOT=$(head -n 1 "$tmp/$name.out" 2>/dev/null)
        [ -n "$BOOT" ] && break
        kill -0 "$BPID" 2>/dev/null || break
        sleep 0.1
        i=$((i + 1))
    done
}

# wait_exit PID SECONDS: its exit status, or 124 when it is still running.
wait_exit() {
    i=0
    while kill -0 "$1" 2>/dev/null && [ $i -lt $(($2 * 10)) ]; do
        sleep 0.1
        i=$((i + 1))
    done
    if kill -0 "$1" 2>/dev/null; then
        return 124
    fi
    wait "$1"
}

# --- the command line -----------------------------------------------------

check "sweep broker --help exits 0" "$SWEEP" broker --help
if grep -q -- "--partitions" "$tmp/out"; then
    ok "sweep broker --help prints the usage on stdout"
else
    notok "sweep broker --help prints the usage on stdout" "$tmp/out"
fi
for bad in "--partitions 0" "--partitions x" "--prefix a/b" "--bogus" "extra"; do
    # shellcheck disable=SC2086
    timeout 10 "$SWEEP" broker $bad >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ $rc -eq 2 ]; then
        ok "sweep broker $bad exits 2"
    else
        echo "exit status $rc" >>"$tmp/err"
        notok "sweep broker $bad exits 2" "$tmp/err"
    fi
done

# --- the broker -----------------------------------------------------------

start_broker main 300
B=$BOOT
MAIN=$BPID
case $B in
127.0.0.1:[0-9]*) ok "sweep broker prints 127.0.0.1:PORT first ($B)" ;;
*)
    notok "sweep broker prints 127.0.0.1:PORT first (got '$B')" \
        "$tmp/main.out" "$tmp/main.err"
    echo "$pass passed, $((fail + 1)) failed"
    exit 1
    ;;
esac

# (a) kcat sees the four topics with four partitions each.
# topics_json FILE PREFIX N: the four topics of PREFIX have N partitions.
topics_json() {
    "$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
md = json.load(open(sys.argv[1]))
want = {"%s.%s" % (sys.argv[2], s) for s in ("control", "assign", "events", "metrics")}
have = {t["topic"]: len(t["partitions"]) for t in md["topics"]}
bad = [(t, have.get(t)) for t in sorted(want) if have.get(t) != int(sys.argv[3])]
if bad:
    sys.exit("wrong or missing topics: %r; have %r" % (bad, have))
EOF
}
check "kcat -L connects" timeout 10 $KCAT -L -J -b "$B"
cp "$tmp/out" "$tmp/meta.json"
check "kcat: sweeps.{control,assign,events,metrics} with 4 partitions" \
    topics_json "$tmp/meta.json" sweeps 4

# --- the client (lib/kafka.h) ---------------------------------------------

PKG_LIBS=$(pkg-config --cflags --libs rdkafka hiredis avro-c jansson yaml-0.1 gsl)
SAN=""
if nm "$O/libsweep.a" 2>/dev/null | grep -q __asan_; then
    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
fi
# shellcheck disable=SC2086
check "kafka_probe.c compiles against $O/libsweep.a" \
    cc -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g $SAN \
    -I"$ROOT/lib" -o "$PROBE" "$ROOT/tests/integration/kafka_probe.c" \
    "$O/libsweep.a" $PKG_LIBS -lm

# (b) 1000 keyed messages back, in order per key; then latency.
check "1000 keyed messages read back from the beginning, in order per key" \
    timeout 60 "$PROBE" "$B" roundtrip probe.roundtrip 1000
sed 's/^/    /' "$tmp/out"
check "200 pings produce -> consume, p99 < 1000 ms" \
    timeout 60 "$PROBE" "$B" latency probe.latency 200
sed 's/^/    /' "$tmp/out"
p99=$(sed -n 's/.* p99 \([0-9.]*\) ms.*/\1/p' "$tmp/out")
if [ -n "$p99" ] && "$PY" -c "import sys; sys.exit(not float('$p99') < 1000)"; then
    ok "latency p99 $p99 ms < 1000 ms"
else
    notok "latency p99 '$p99' ms < 1000 ms" "$tmp/out"
fi

# (c) interop: probe -> kcat, kcat -> probe, probe -> kafka-python.
check "kafka_probe produces one message" \
    timeout 30 "$PROBE" "$B" produce probe.interop k1 hello-from-probe
check "kcat reads what kafka_probe produced" \
    timeout 20 $KCAT -C -b "$B" -t probe.interop -e -o beginning -f '%k=%s\n'
if ! grep -qx "k1=hello-from-probe" "$tmp/out"; then
    notok "kcat output has k1=hello-from-probe" "$tmp/out"
else
    ok "kcat output has k1=hello-from-probe"
fi
echo "k2:hello-from-kcat" >"$tmp/kcat.in"
check "kcat produces one message" \
    timeout 20 $KCAT -P -b "$B" -t probe.fromkcat -K: -l "$tmp/kcat.in"
check "kafka_probe reads what kcat produced" \
    timeout 30 "$PROBE" "$B" consume probe.fromkcat 1 10000
if grep -qx "k2=hello-from-kcat" "$tmp/out"; then
    ok "kafka_probe output has k2=hello-from-kcat"
else
    notok "kafka_probe output has k2=hello-from-kcat" "$tmp/out"
fi
cat >"$tmp/pyread.py" <<'EOF'
import sys
from kafka import KafkaConsumer, TopicPartition
brokers, topic, want = sys.argv[1:4]
c = KafkaConsumer(bootstrap_servers=brokers, group_id=None,
                  enable_auto_commit=False, consumer_timeout_ms=5000,
                  api_version_auto_timeout_ms=5000)
parts = c.partitions_for_topic(topic) or set()
c.assign([TopicPartition(topic, p) for p in parts])
c.seek_to_beginning()
for m in c:
    line = "%s=%s" % (m.key.decode() if m.key else "", m.value.decode())
    print(line)
    if line == want:
        sys.exit(0)
sys.exit("%r not found in %d partitions" % (want, len(parts)))
EOF
check "kafka-python reads what kafka_probe produced" \
    timeout 30 "$PY" "$tmp/pyread.py" "$B" probe.interop k1=hello-from-probe

# (d) two readers in two processes both read every message (no group).
check "kafka_probe creates probe.two" \
    timeout 30 "$PROBE" "$B" produce probe.two k 0
readers=""
for r in 1 2; do
    timeout 40 "$PROBE" "$B" consume probe.two 201 30000 \
        >"$tmp/reader$r.out" 2>"$tmp/reader$r.err" &
    readers="$readers $!"
    pids="$pids $!"
done
i=1
while [ $i -le 200 ]; do
    echo "k$((i % 7)):$i"
    i=$((i + 1))
done >"$tmp/two.in"
check "kcat produces 200 more messages" \
    timeout 20 $KCAT -P -b "$B" -t probe.two -K: -l "$tmp/two.in"
r=0
for rp in $readers; do
    r=$((r + 1))
    wait "$rp"
    rc=$?
    n=$(sort -u "$tmp/reader$r.out" | wc -l)
    if [ $rc -eq 0 ] && [ "$n" -eq 201 ]; then
        ok "reader $r of 2 read all 201 messages"
    else
        echo "exit status $rc, $n distinct lines" >>"$tmp/reader$r.err"
        notok "reader $r of 2 read all 201 messages" "$tmp/reader$r.err"
    fi
done

# (e) outages. A broker SIGKILLed under a producer and reader: every
# kafka_produce() still succeeds (messages wait in the queue), the probe
# exits cleanly. A restarted broker has a new port (the mock cannot be
# told one), so the old client cannot see it; the new one serves.
start_broker crash 3 --prefix alt --partitions 3 --brokers unused:9092 \
    --redis redis://unused --config /nonexistent
CRASH=$BOOT
if [ -n "$CRASH" ]; then
    ok "sweep broker accepts --brokers/--redis/--config ($CRASH)"
else
    notok "sweep broker accepts --brokers/--redis/--config" "$tmp/crash.err"
fi
check "kcat: alt.* topics with 3 partitions (--prefix, --partitions)" \
    timeout 10 $KCAT -L -J -b "$CRASH"
cp "$tmp/out" "$tmp/alt.json"
check "alt.{control,assign,events,metrics} have 3 partitions" \
    topics_json "$tmp/alt.json" alt 3
check "broker SIGKILLed mid-run: kafka_produce never fails, clean exit" \
    timeout 40 "$PROBE" "$CRASH" outage alt.events 5
sed 's/^/    /' "$tmp/out"
if "$PY" -c '
import re, sys
m = re.search(r"produced (\d+), delivered (\d+)", open(sys.argv[1]).read())
sys.exit(not (m and int(m.group(2)) < int(m.group(1))))' "$tmp/out"; then
    ok "the broker really died under the probe (not all delivered)"
else
    notok "the broker really died under the probe (not all delivered)" "$tmp/out"
fi
wait_exit "$BPID" 5
start_broker restarted 60
check "a restarted broker serves again (new port $BOOT)" \
    timeout 30 "$PROBE" "$BOOT" produce sweeps.events k v
kill -TERM "$BPID" 2>/dev/null
wait_exit "$BPID" 10
check "broker down then up in-process: messages queued meanwhile arrive" \
    timeout 60 "$PROBE" 127.0.0.1:1 reconnect
sed 's/^/    /' "$tmp/out"

# (f) properties pass through to librdkafka.
check "--prop socket.timeout.ms=10000 is accepted" \
    timeout 30 "$PROBE" --prop socket.timeout.ms=10000 "$B" props
# bad_prop PROP: exit 2 with a message naming the property, no crash.
bad_prop() {
    timeout 30 "$PROBE" --prop "$1" "$B" props >"$tmp/out" 2>"$tmp/err"
    rc=$?
    key=${1%%=*}
    if [ $rc -eq 2 ] && grep -q "property '$key" "$tmp/err"; then
        ok "--prop $1 is refused cleanly: $(head -n 1 "$tmp/err")"
    else
        echo "exit status $rc" >>"$tmp/err"
        notok "--prop $1 is refused cleanly (exit 2, message)" "$tmp/err"
    fi
}
bad_prop no.such.prop=1
bad_prop acks=banana
bad_prop noequals

# (g) kafka_seek() before and while reading; kafka_ensure_topics().
check "kafka_seek before kafka_read and while reading" \
    timeout 60 "$PROBE" "$B" seek probe.seek
check "kafka_ensure_topics answers within its timeout" \
    timeout 30 "$PROBE" "$B" ensure probe.ensure
sed 's/^/    /' "$tmp/out"

# The broker stops cleanly on SIGTERM and on SIGINT.
kill -TERM "$MAIN"
wait_exit "$MAIN" 10
rc=$?
if [ $rc -eq 0 ]; then
    ok "sweep broker exits 0 on SIGTERM"
else
    echo "exit status $rc" >>"$tmp/main.err"
    notok "sweep broker exits 0 on SIGTERM" "$tmp/main.err"
fi
# A signal may land on a thread OpenBLAS started before main(), where it
# would kill the process (exit 130/143) unless passed on: try a few times.
for sig in INT TERM HUP; do
    bad=0
    for try in 1 2 3 4; do
        start_broker "sig$sig$try" 60
        sleep 0.1
        kill -"$sig" "$BPID"
        wait_exit "$BPID" 10
        rc=$?
        if [ -z "$BOOT" ] || [ $rc -ne 0 ]; then
            bad=$((bad + 1))
            echo "try $try: exit status $rc" >>"$tmp/sig$sig.err"
        fi
    done
    if [ $bad -eq 0 ]; then
        ok "sweep broker exits 0 on SIG$sig (4 of 4 tries)"
    else
        notok "sweep broker exits 0 on SIG$sig ($bad of 4 tries failed)" \
            "$tmp/sig$sig.err"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
